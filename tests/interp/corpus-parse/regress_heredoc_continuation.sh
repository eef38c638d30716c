cat <<A
line>\
A
A
