"""Reads of the patrol app that several places use."""
