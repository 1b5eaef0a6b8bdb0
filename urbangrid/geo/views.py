"""Pages of the geo app."""
