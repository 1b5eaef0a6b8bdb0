"""Pages of the catalog app."""
