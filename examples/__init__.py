"""Example agents: each folder is one agent (its agent.toml, tools module and labeled rows)."""
