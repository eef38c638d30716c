echo a"b$c"'*'${d:-e f} \~ ~ ~/x ~user a=~/b:~/c
echo ${x#*/} ${x##*/} ${x%/*} ${x%%/*} ${#x} ${x:1:2} ${x/a/b} ${x//a/b} ${a[1]} ${#a[@]}
echo "${x#"$y"}" "${x-'a'}" "${x#'a'}" $'esc\n\t\x41' "$@" "$*" $# $? $$ $! $- $0 ${10}
echo $(echo $(echo `echo \`echo deep\``)) $((1+(2*3))) $( (echo sub) ) $((echo a); (echo b))
echo @(a|b) *(x) +(y) ?(z) !(w).c
a[1]=x b+=y c[$i]=z cmd
