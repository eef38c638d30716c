[[ -f /etc/passwd && ( $x == a* || ! -z $y ) ]] && echo yes
(( i = i + 1, j = i * 2 ))
select x in a b c; do break; done
time -p ls | wc -l
cmd |& read -p line
[[ a < b ]]; [[ 1 -lt 2 ]]
