"""Pages of the portal app."""
