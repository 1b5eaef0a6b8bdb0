"""Patrol and hazard sweeps (巡查与隐患排查)."""
