time<<ad -p line
ad
