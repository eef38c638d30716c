a=(x "y z" $w) b+=(1) c=()
d=(
 p # c
 q
)
