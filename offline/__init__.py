"""Offline tooling beside the programs it compiles: data loading, metrics, compile (`optimize`),
evaluate, and the README's environment table. Never imported by the served graph."""
