"""Library defaults and process-wide caches, configured by one explicit, idempotent call.

Importing a module of this project configures nothing. Whatever starts work calls `configure()`
first: the graph factory (`graphs.agent.build_graph`), the CLI entry points (serving/), the
offline commands (offline/), `dspy_programs.select_tools`, the test session and the benchmarks.
Calling it again does nothing.
"""

from __future__ import annotations

import os

from runtime.lm_cache import configure_lm_cache
from runtime.settings import Settings
from runtime.tokens import encoding


def configure(settings: Settings | None = None) -> None:
    # litellm (under DSPy, imported on first use) fetches a model price map from the internet and
    # waits between retries; the bundled copy is enough and keeps start-up offline and fast.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    # DSPy's response cache is process-global (runtime/lm_cache.py): configured once per process.
    configure_lm_cache(settings)
    # What the first run would otherwise load on the server's event loop, blocking every other run
    # (`langgraph dev` refuses blocking calls there): litellm's modules and the tokenizer's files.
    encoding()
