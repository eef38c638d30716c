cat <<"E
x"
E
