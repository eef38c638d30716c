ec\
ho a\
b &\
& echo c |\
| echo d
echo "multi
line" 'single
quoted' # comment \
echo after
