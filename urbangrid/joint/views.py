"""Pages of the joint app."""
