"""Reads of the joint app that several places use."""
