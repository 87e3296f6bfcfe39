"""wattcast."""
