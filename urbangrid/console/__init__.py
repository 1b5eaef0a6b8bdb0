"""Operator console (工作台)."""
