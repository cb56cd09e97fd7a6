"""The tool executors' node cache: Redis when REDIS_URL is set, in-process otherwise.

Values are stored as JSON (never pickle): anything read back from Redis is parsed as
data only. If Redis goes away mid-run the cache reads as empty and writes are dropped,
so runs continue uncached; it is used again as soon as it answers.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from typing import Any

from langgraph.cache.base import BaseCache
from langgraph.cache.memory import InMemoryCache
from langgraph.cache.redis import RedisCache
from langgraph.checkpoint.serde.base import SerializerProtocol

from runtime.settings import Settings, get_settings

log = logging.getLogger(__name__)

CACHE_PREFIX = "agent:toolcache:"


class JsonSerializer(SerializerProtocol):
    """Plain JSON. The cached values are tool results: strings, numbers, lists and dicts."""

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        # LangGraph caches a node's writes as a deque of (channel, value) pairs.
        return "json", json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=_sequence).encode()

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        kind, payload = data
        if kind != "json":
            raise ValueError(f"refusing to decode cache entry of type {kind!r}")
        return json.loads(payload)


def _sequence(obj: Any) -> list[Any]:
    if isinstance(obj, (deque, tuple, set)):
        return list(obj)
    raise TypeError(f"cannot cache a {type(obj).__name__} as JSON")


_fallback_logged = False


def build_cache(settings: Settings | None = None) -> BaseCache[Any]:
    global _fallback_logged
    s = settings or get_settings()
    if s.redis_url:
        import redis

        client = redis.Redis.from_url(s.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
        log.info("tool cache: Redis at %s", s.redis_url)
        return RedisCache(client, serde=JsonSerializer(), prefix=CACHE_PREFIX)
    if not _fallback_logged:
        log.warning("tool cache: REDIS_URL is not set; using an in-process cache (not shared between workers)")
        _fallback_logged = True
    return InMemoryCache(serde=JsonSerializer())
