"""Reads of the credit app that several places use."""
