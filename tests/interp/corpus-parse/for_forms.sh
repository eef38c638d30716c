for x
do :; done; for y in; do :; done; for z; do :; done
