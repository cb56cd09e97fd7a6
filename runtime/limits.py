"""Rate limits: LM requests per second per endpoint (base URL), tool calls per minute per tool and user.

Both use LangChain's InMemoryRateLimiter (a token bucket, thread-safe), with two changes:
the bucket starts full (LangChain's starts empty, so the very first call of a process would
wait 1/rate seconds: a minute for a 1-per-minute tool), and acquiring takes a timeout.
Limits are per process: each server worker enforces its own.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from typing import Any

from dspy.utils.callback import BaseCallback
from langchain_core.rate_limiters import InMemoryRateLimiter

from runtime.settings import Settings, get_settings


class RateLimiter(InMemoryRateLimiter):
    def __init__(self, requests_per_second: float, max_bucket_size: float = 1.0) -> None:
        # Poll often enough for short waits, rarely enough to stay cheap for slow limits.
        check = min(0.1, max(0.005, 0.25 / requests_per_second))
        super().__init__(
            requests_per_second=requests_per_second, max_bucket_size=max_bucket_size, check_every_n_seconds=check
        )
        self.available_tokens = float(max_bucket_size)
        self.last = time.monotonic()

    def acquire_within(self, timeout: float | None) -> bool:
        """Take a token, waiting at most `timeout` seconds (None: as long as it takes)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._consume():
            if deadline is not None and time.monotonic() + self.check_every_n_seconds > deadline:
                return self._consume()
            time.sleep(self.check_every_n_seconds)
        return True

    async def aacquire_within(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._consume():
            if deadline is not None and time.monotonic() + self.check_every_n_seconds > deadline:
                return self._consume()
            await asyncio.sleep(self.check_every_n_seconds)
        return True


_lock = threading.Lock()
_lm_limiters: dict[tuple[str | None, float, int], RateLimiter] = {}
_tool_limiters: dict[tuple[str, str, float], RateLimiter] = {}


def lm_limiter(base_url: str | None, model: str, settings: Settings | None = None) -> RateLimiter | None:
    """The limiter shared by every LM call to one endpoint (None when LM_REQUESTS_PER_SECOND is 0).

    Keyed by base URL alone, not by model: the limit protects the endpoint (and the key it bills),
    so naming another model must not buy another allowance.
    """
    s = settings or get_settings()
    if s.lm_requests_per_second <= 0:
        return None
    key = (base_url, s.lm_requests_per_second, s.lm_burst)
    with _lock:
        limiter = _lm_limiters.get(key)
        if limiter is None:
            limiter = RateLimiter(s.lm_requests_per_second, max(1, s.lm_burst))
            _lm_limiters[key] = limiter
    return limiter


def tool_limiter(tool: str, user: str, settings: Settings | None = None) -> RateLimiter | None:
    """The calls-per-minute limiter of one tool for one user (None when its limit is 0 = unlimited).

    Per user, so one user spending the allowance does not lock the tool for everyone else. The
    bucket holds a tenth of a minute's calls (at least one), so a burst cannot spend the whole
    minute's allowance at once.
    """
    s = settings or get_settings()
    per_minute = s.tool_rate_per_minute(tool)
    if per_minute <= 0:
        return None
    key = (tool, user, per_minute)
    with _lock:
        limiter = _tool_limiters.get(key)
        if limiter is None:
            limiter = RateLimiter(per_minute / 60.0, max(1.0, per_minute / 10.0))
            _tool_limiters[key] = limiter
    return limiter


def reset_limiters() -> None:
    """Forget every limiter (tests; settings changes take effect on the next call anyway)."""
    with _lock:
        _lm_limiters.clear()
        _tool_limiters.clear()


class LMRateLimit(BaseCallback):
    """Waits for the endpoint's limiter before each DSPy LM call.

    Why a DSPy callback and not LangChain's `rate_limiter=` argument: DSPy calls the model
    through its own client (litellm / lm15), not a LangChain chat model, so nothing would ever
    consult a limiter handed to LangChain. DSPy runs an LM's instance callbacks on every call,
    from every node and thread, before the request: one place that cannot be bypassed.
    A call answered by DSPy's cache also takes a token (the callback runs before the cache
    lookup); the burst allowance makes that cost nothing in practice.
    """

    def __init__(self, base_url: str | None, model: str) -> None:
        self.base_url = base_url
        self.model = model

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        limiter = lm_limiter(self.base_url, self.model)
        if limiter is None:
            return
        prepaid = _prepaid.get()
        if prepaid is not None and prepaid.get(self.base_url, 0) > 0:  # an async node waited already
            prepaid[self.base_url] -= 1
            return
        limiter.acquire_within(None)


# DSPy runs callbacks synchronously, also for `acall`: waiting in `on_lm_start` would block the
# event loop (every run of the server). An async node therefore waits for its LM call's token first,
# without blocking (`prepay_lm_call`), and the callback takes that token instead of waiting. A
# second call in the same node run (the native adapter's retry) still waits in the callback.
_prepaid: contextvars.ContextVar[dict[str | None, int] | None] = contextvars.ContextVar("lm_prepaid", default=None)


async def prepay_lm_call(base_url: str | None, model: str) -> None:
    """Wait, without blocking the event loop, for one LM call's token on this endpoint; the next
    LM call in this context (and the tasks it starts) spends it."""
    limiter = lm_limiter(base_url, model)
    if limiter is None:
        return
    await limiter.aacquire_within(None)
    prepaid = _prepaid.get()
    if prepaid is None:
        prepaid = {}
        _prepaid.set(prepaid)
    prepaid[base_url] = prepaid.get(base_url, 0) + 1
