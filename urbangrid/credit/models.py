"""Models of the credit app."""
