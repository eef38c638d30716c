cat&&<A <<-\	B
B
c-tnd<at <<?