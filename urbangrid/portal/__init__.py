"""Public portal and Open311 (公众门户)."""
