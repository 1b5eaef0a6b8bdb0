"""Reads of the console app that several places use."""
