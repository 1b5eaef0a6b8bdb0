"""Pages of the credit app."""
