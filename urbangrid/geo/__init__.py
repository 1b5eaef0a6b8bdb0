"""Geography and grids (地理与网格)."""
