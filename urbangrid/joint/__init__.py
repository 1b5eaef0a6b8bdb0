"""Joint enforcement and consultation (联合执法与会商)."""
