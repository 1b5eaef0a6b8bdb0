"""Writes of the orgs app: every one is a do_* action under one transaction with an audit record."""
