"""The graph nodes: one file per step."""
