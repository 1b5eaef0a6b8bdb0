"""Reads of the cases app that several places use."""
