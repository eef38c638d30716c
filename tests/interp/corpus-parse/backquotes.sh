echo `echo "\`x\`"`
echo "`echo \"q\"`"
