"""The tool executors' node cache: Redis when REDIS_URL is set, in-process otherwise.

Values are stored as JSON (never pickle): anything read back from Redis is parsed as
data only. If Redis goes away mid-run the cache reads as empty and writes are dropped,
so runs continue uncached, with one warning per outage; Redis is tried again
TOOL_CACHE_RETRY_S after the last failure and used as soon as it answers.

Where the entries are: LangGraph keys a node's cached writes by the namespace
(`__pregel_ns_writes`, <node identity>, <node name>) and a hash of the node's key function
(nodes/execute.py: tool name, tool version, arguments, and today's date for "today" calls).
In Redis that is `agent:toolcache:__pregel_ns_writes:__dynamic__:run_<tool>:<hash>`, so
`cache-clear --tool <tool>` deletes `agent:toolcache:*:run_<tool>:*`.

Every lookup is counted per tool (agent_tool_cache_requests_total{tool,result}); a tool
result that carries an error is never stored, so a timeout or a refused call is retried
on the next run instead of being served for the TTL.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from langgraph.cache.base import BaseCache, FullKey, Namespace
from langgraph.cache.redis import RedisCache
from langgraph.checkpoint.serde.base import SerializerProtocol
from xxhash import xxh3_128_hexdigest

from runtime.audit import audit_tool_call
from runtime.metrics import TOOL_CACHE, TOOL_CACHE_ERRORS
from runtime.names import EXECUTOR_PREFIX, tool_of_node
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


class GuardedRedisCache(RedisCache[Any]):
    """LangGraph's RedisCache, but aware of outages.

    RedisCache swallows Redis errors silently, and its async methods call Redis on the event
    loop. Here a failure logs one warning (until Redis answers again, which logs once more),
    skips Redis for `retry_s` so a dead server costs no connect timeout per lookup, and the
    async methods run in a worker thread so the server's loop never blocks on Redis.
    """

    def __init__(self, client: Any, *, serde: SerializerProtocol, prefix: str = CACHE_PREFIX, retry_s: float = 5.0):
        super().__init__(client, serde=serde, prefix=prefix)
        self.retry_s = retry_s
        self._lock = threading.Lock()
        self._down = False
        self._retry_at = 0.0

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._retry_at

    def _failed(self, op: str, exc: BaseException) -> None:
        TOOL_CACHE_ERRORS.labels(op).inc()
        with self._lock:
            self._retry_at = time.monotonic() + self.retry_s
            if self._down:
                return
            self._down = True
        log.warning("tool cache: Redis unavailable (%s: %s); running uncached until it answers", op, exc)

    def _ok(self) -> None:
        if self._down:
            with self._lock:
                was_down, self._down = self._down, False
            if was_down:
                log.warning("tool cache: Redis is back; caching again")

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, Any]:
        if not keys or not self.available:
            return {}
        try:
            raw_values = self.redis.mget([self._make_key(ns, key) for ns, key in keys])
        except Exception as exc:
            self._failed("get", exc)
            return {}
        self._ok()
        values: dict[FullKey, Any] = {}
        for full_key, raw in zip(keys, raw_values, strict=True):
            if raw is None:
                continue
            try:
                encoding, data = raw.split(b":", 1)
                values[full_key] = self.serde.loads_typed((encoding.decode(), data))
            except Exception:  # a corrupt or foreign entry reads as a miss
                log.debug("tool cache: unreadable entry for %s", full_key, exc_info=True)
        return values

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, Any]:
        return await asyncio.to_thread(self.get, keys)

    def set(self, pairs: Mapping[FullKey, tuple[Any, int | None]]) -> None:
        if not pairs or not self.available:
            return
        pipe = self.redis.pipeline()
        for (ns, key), (value, ttl) in pairs.items():
            encoding, data = self.serde.dumps_typed(value)
            payload = f"{encoding}:".encode() + data
            if ttl is not None:
                pipe.set(self._make_key(ns, key), payload, ex=ttl)
            else:
                pipe.set(self._make_key(ns, key), payload)
        try:
            pipe.execute()
        except Exception as exc:
            self._failed("set", exc)
            return
        self._ok()

    async def aset(self, pairs: Mapping[FullKey, tuple[Any, int | None]]) -> None:
        await asyncio.to_thread(self.set, pairs)

    def delete_matching(self, pattern: str) -> int:
        """Delete keys under our prefix matching `pattern` (SCAN, not KEYS: Redis keeps serving)."""
        deleted = 0
        batch: list[bytes] = []
        for key in self.redis.scan_iter(match=self.prefix + pattern, count=500):
            batch.append(key)
            if len(batch) >= 500:
                deleted += int(self.redis.delete(*batch))
                batch = []
        if batch:
            deleted += int(self.redis.delete(*batch))
        return deleted

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        if namespaces is None:
            self.delete_matching("*")
            return
        for ns in namespaces:
            self.delete_matching(":".join(ns) + ":*" if ns else "*")

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        await asyncio.to_thread(self.clear, namespaces)

    def clear_tool(self, tool: str | None) -> int:
        """Delete one tool's entries (every version and argument), or every entry when tool is None."""
        return self.delete_matching("*" if tool is None else f"*:{EXECUTOR_PREFIX}{tool}:*")


# The calls whose cache keys this run computed, by the key's hash: the key function (nodes/execute.py)
# registers each granted call right before LangGraph looks it up, so a hit can be audited with the
# user it was granted to, whatever door led there (the executor, which audits the calls it runs,
# is skipped on a hit). A context variable, because LangGraph computes the keys and looks them up
# in the same task of one run; concurrent runs never see each other's entries.
_LOOKUPS: contextvars.ContextVar[dict[str, tuple[str, dict[str, Any]]] | None] = contextvars.ContextVar(
    "agent_tool_cache_lookups", default=None
)
_MAX_LOOKUPS = 1024


def expect_lookup(key_text: str, tool: str, call: Mapping[str, Any]) -> None:
    """Remember which call a cache key stands for, until LangGraph looks it up."""
    lookups = _LOOKUPS.get()
    if lookups is None:
        lookups = {}
        _LOOKUPS.set(lookups)
    if len(lookups) >= _MAX_LOOKUPS:  # keys computed but never looked up (drawing the graph)
        lookups.clear()
    lookups[xxh3_128_hexdigest(key_text.encode())] = (tool, dict(call))


def _audit_hits(keys: Sequence[FullKey], found: Mapping[FullKey, Any]) -> None:
    lookups = _LOOKUPS.get() or {}
    for key in keys:
        entry = lookups.pop(key[1], None)
        if entry is None or key not in found:
            continue
        tool, call = entry
        error = _has_error(found[key])
        audit_tool_call(tool, call.get("args") or {}, outcome="error" if error else "ok", cache_hit=True,
                        user=str(call.get("user") or "anonymous"))  # fmt: skip


def tool_of(ns: Namespace) -> str | None:
    return tool_of_node(ns[-1] if ns else "")


def _has_error(writes: Any) -> bool:
    """True when a node's writes hold a tool result with an error (never worth caching)."""
    try:
        return any(
            channel == "tool_results" and any(isinstance(r, dict) and r.get("error") for r in value or [])
            for channel, value in writes
        )
    except (TypeError, ValueError):
        return False


class MeteredCache(BaseCache[Any]):
    """Delegates to the real cache; counts hits and misses per tool, audits every hit, and never
    stores error results.

    LangGraph asks the cache only for tasks that have a cache policy, so every key looked up
    here is one tool call: found = hit (the executor does not run), not found = miss.
    """

    def __init__(self, inner: BaseCache[Any]) -> None:
        super().__init__(serde=inner.serde)
        self.inner = inner

    @staticmethod
    def _count(keys: Sequence[FullKey], found: Mapping[FullKey, Any]) -> None:
        for key in keys:
            tool = tool_of(key[0]) or (key[0][-1] if key[0] else "")
            TOOL_CACHE.labels(tool, "hit" if key in found else "miss").inc()

    @staticmethod
    def _storable(pairs: Mapping[FullKey, tuple[Any, int | None]]) -> dict[FullKey, tuple[Any, int | None]]:
        return {key: entry for key, entry in pairs.items() if not _has_error(entry[0])}

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, Any]:
        found = self.inner.get(keys)
        self._count(keys, found)
        _audit_hits(keys, found)
        return found

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, Any]:
        found = await self.inner.aget(keys)
        self._count(keys, found)
        _audit_hits(keys, found)
        return found

    def set(self, pairs: Mapping[FullKey, tuple[Any, int | None]]) -> None:
        if storable := self._storable(pairs):
            self.inner.set(storable)

    async def aset(self, pairs: Mapping[FullKey, tuple[Any, int | None]]) -> None:
        if storable := self._storable(pairs):
            await self.inner.aset(storable)

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        self.inner.clear(namespaces)

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        await self.inner.aclear(namespaces)


class BoundedMemoryCache(BaseCache[Any]):
    """The in-process tool cache: at most `max_entries` entries, least recently used evicted first.

    LangGraph's InMemoryCache never evicts (an entry leaves only when read after its TTL), so a
    server answering distinct questions for a day would hold every result of that day.
    """

    def __init__(self, max_entries: int, *, serde: SerializerProtocol | None = None) -> None:
        super().__init__(serde=serde or JsonSerializer())
        self.max_entries = max(1, max_entries)
        self._entries: OrderedDict[FullKey, tuple[str, bytes, float | None]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, Any]:
        now = time.monotonic()
        values: dict[FullKey, Any] = {}
        with self._lock:
            for key in keys:
                entry = self._entries.get(key)
                if entry is None:
                    continue
                encoding, data, expiry = entry
                if expiry is not None and now >= expiry:
                    del self._entries[key]
                    continue
                self._entries.move_to_end(key)
                values[key] = (encoding, data)
        return {key: self.serde.loads_typed(value) for key, value in values.items()}

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, Any]:
        return self.get(keys)

    def set(self, pairs: Mapping[FullKey, tuple[Any, int | None]]) -> None:
        now = time.monotonic()
        encoded = {key: (*self.serde.dumps_typed(value), None if ttl is None else now + ttl)
                   for key, (value, ttl) in pairs.items()}  # fmt: skip
        with self._lock:
            for key, entry in encoded.items():
                self._entries[key] = entry
                self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    async def aset(self, pairs: Mapping[FullKey, tuple[Any, int | None]]) -> None:
        self.set(pairs)

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        with self._lock:
            if namespaces is None:
                self._entries.clear()
                return
            wanted = set(namespaces)
            for key in [k for k in self._entries if k[0] in wanted]:
                del self._entries[key]

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        self.clear(namespaces)


def redact_url(url: str) -> str:
    """`url` with any password replaced by ***, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def metered(cache: BaseCache[Any]) -> MeteredCache:
    """`cache` with hit/miss counting and hit auditing (a graph compiled with any cache gets both)."""
    return cache if isinstance(cache, MeteredCache) else MeteredCache(cache)


_fallback_logged = False


def redis_cache(settings: Settings | None = None) -> GuardedRedisCache:
    import redis

    s = settings or get_settings()
    if not s.redis_url:
        raise ValueError("REDIS_URL is not set")
    client = redis.Redis.from_url(s.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
    return GuardedRedisCache(client, serde=JsonSerializer(), prefix=CACHE_PREFIX, retry_s=s.tool_cache_retry_s)


def build_cache(settings: Settings | None = None) -> MeteredCache:
    global _fallback_logged
    s = settings or get_settings()
    if s.redis_url:
        log.info("tool cache: Redis at %s", redact_url(s.redis_url))
        return MeteredCache(redis_cache(s))
    if not _fallback_logged:
        log.warning("tool cache: REDIS_URL is not set; using an in-process cache (not shared between workers)")
        _fallback_logged = True
    return MeteredCache(BoundedMemoryCache(s.tool_cache_max_entries))
