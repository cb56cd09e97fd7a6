"""The agent graph: its wiring and routers (the top of the graph's layers)."""
