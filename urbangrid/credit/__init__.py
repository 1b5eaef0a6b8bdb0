"""Credit punishment (信用惩戒)."""
