"""mediagen."""
