"""The types every node speaks: the graph's state and the run's context (no behaviour, no I/O)."""
