"""Offline tooling beside the programs it compiles: data loading, metrics, compile (`optimize`),
evaluate, and the environment table of docs/configuration.md. Never imported by the served graph."""
