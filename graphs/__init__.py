"""The agent graph, its state and its run context."""

import runtime  # noqa: F401  (offline defaults before any library import)
