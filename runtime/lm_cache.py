"""DSPy's LM response cache, configured once, deliberately.

Where: DSPY_CACHE_DIR (default ~/.cache/dspy-langgraph/dspy), on disk (diskcache/SQLite),
  with an in-process LRU of DSPY_CACHE_MEMORY_ENTRIES in front of it.
How big: DSPY_CACHE_MAX_BYTES on disk (default 1 GB; diskcache evicts least recently used).
Off: DSPY_CACHE=false (both layers off, and every dspy.LM built by runtime/models.py is made
  with cache=False, so no request even computes a key).
Safety: restrict_pickle=True, so entries read back from disk are unpickled only into a
  known-safe set of types (a planted file cannot run code).

An entry is keyed by the whole request (model, messages, temperature, max_tokens ...; not the
API key or base URL), so a repeated identical step of any node, in any thread or run, costs no
LM call. Requests run at temperature 0, so reuse does not change answers.

`dspy.configure_cache` swaps a process-global object; it is called once per process, by
runtime.bootstrap.configure (the graph factory, the entry points), before any node runs — never from nodes.

Each lookup is also reported to the caller's probe (see runtime/usage.py): that is how a node
tells an LM call that reached the model from one its cache answered.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from typing import Any

import dspy
from dspy.clients.cache import Cache

from runtime.settings import Settings, get_settings

log = logging.getLogger(__name__)

_probe: contextvars.ContextVar[dict[str, bool] | None] = contextvars.ContextVar("lm_cache_probe", default=None)
_configured: Settings | None = None
_lock = threading.Lock()


def start_probe() -> dict[str, bool]:
    """Record whether the next cache lookup in this context hits (a dict, so threads DSPy copies
    the context into still write to the same object)."""
    probe = {"hit": False}
    _probe.set(probe)
    return probe


class MeteredLMCache(Cache):
    """DSPy's Cache, reporting each lookup's outcome to the current probe."""

    def get(self, request: dict[str, Any], ignored_args_for_cache_key: list[str] | None = None) -> Any:
        value = super().get(request, ignored_args_for_cache_key)
        if (probe := _probe.get()) is not None:
            probe["hit"] = value is not None
        return value


def configure_lm_cache(settings: Settings | None = None, *, force: bool = False) -> None:
    """Configure DSPy's cache from settings; once per process unless `force` (tests)."""
    global _configured
    s = settings or get_settings()
    with _lock:
        if _configured is not None and not force:
            return
        if s.dspy_cache:
            s.dspy_cache_dir.mkdir(parents=True, exist_ok=True)
        dspy.configure_cache(
            enable_disk_cache=s.dspy_cache,
            enable_memory_cache=s.dspy_cache,
            disk_cache_dir=str(s.dspy_cache_dir),
            disk_size_limit_bytes=s.dspy_cache_max_bytes,
            memory_max_entries=s.dspy_cache_memory_entries,
            restrict_pickle=True,
        )
        # The object configure_cache built, with lookups reported to probes. Same class layout
        # (a subclass with no state of its own), so swapping the class is safe.
        dspy.cache.__class__ = MeteredLMCache
        _configured = s
    log.info("LM cache: %s", f"{s.dspy_cache_dir} (max {s.dspy_cache_max_bytes:,} bytes)" if s.dspy_cache else "off")
