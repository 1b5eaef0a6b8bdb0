"""Pages of the patrol app."""
