"""Reads of the catalog app that several places use."""
