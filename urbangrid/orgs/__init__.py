"""Organisation (组织与人员)."""
