"""Reads of the portal app that several places use."""
