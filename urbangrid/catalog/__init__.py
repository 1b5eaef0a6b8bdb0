"""Problem catalogue (问题分类)."""
