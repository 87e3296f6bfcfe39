"""wattcast: the command line of the wattcast REST API (`wattcast --help`)."""
