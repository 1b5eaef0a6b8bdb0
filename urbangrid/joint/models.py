"""Models of the joint app."""
