cat <<A <<-'B'; echo "$(cat <<C
inner $x
C
)"
a $1 ${2:-x} `date` $((3*4)) \$ \\
A
	tabbed 'quoted' $notexpanded
	B
cat <<"E" | tr a b && echo done
$x
E
