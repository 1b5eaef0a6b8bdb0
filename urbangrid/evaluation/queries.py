"""Reads of the evaluation app that several places use."""
