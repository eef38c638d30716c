set -A a x y z; a[i+1]=v b[2]+=w
echo ${a[@]} "${a[*]}" ${#a[@]} ${#a[1]} ${!a[@]} ${!ref} ${a[@]:1:2} ${a[0]/x/y}
[[ $s =~ ^(a|b)+[0-9]{2}$ && $t == @(x|y)* || ! -z "$u" ]]
typeset -i16 n=255; typeset -L5 -u l=ab; integer k=2*3
function f { typeset v=1; print -r -- "$0 $v"; }
select c in one two; do break; done
cat |& print -p hi; read -p r; exec 3>&p 4<&p
trap 'echo e' ERR; case $x in +([0-9])|!(*.c)) :;; esac
