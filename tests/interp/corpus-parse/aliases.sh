ll /tmp; begin echo; fi; loop
