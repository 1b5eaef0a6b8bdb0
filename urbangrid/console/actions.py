"""Writes of the console app: every one is a do_* action under one transaction with an audit record."""
