"""Supervision and evaluation (监督评价)."""
