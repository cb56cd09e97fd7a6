"""The graph nodes: one file per step."""

import runtime  # noqa: F401  (offline defaults before any library import)
