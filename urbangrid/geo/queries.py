"""Reads of the geo app that several places use."""
