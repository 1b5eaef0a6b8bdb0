"""Shared helpers (公共组件)."""
