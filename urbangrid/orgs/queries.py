"""Reads of the orgs app that several places use."""
