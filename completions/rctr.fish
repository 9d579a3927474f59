complete --keep-order --exclusive --command rctr --arguments "(COMPLETE=fish rctr -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
