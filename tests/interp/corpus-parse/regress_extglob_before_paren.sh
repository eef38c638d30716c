ca`A <<donecŸ‹
)"@fa$5`et $(@(4*4	) \$ case x in @(a)) echo;; (@(b ) ;; esac; echo $(echo @(a ) $(echo x)
