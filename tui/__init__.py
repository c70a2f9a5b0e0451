"""tui: the ``tracktui`` command — a terminal viewer and command line for tracker databases."""
