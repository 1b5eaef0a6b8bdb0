"""Pages of the orgs app."""
