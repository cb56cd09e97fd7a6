"""Retry policy for nodes that call a model: transient transport failures only."""

from __future__ import annotations

from langgraph.types import RetryPolicy

_TRANSIENT = ("Connection", "Timeout", "ServiceUnavailable", "InternalServerError", "RateLimit", "APIError")


def is_transient(exc: Exception) -> bool:
    # litellm and openai wrap transport errors in their own classes; match on the class
    # names of the whole chain rather than importing every provider's exception types.
    seen: Exception | BaseException | None = exc
    while seen is not None:
        if any(part in type(seen).__name__ for part in _TRANSIENT):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


LM_RETRY = RetryPolicy(
    max_attempts=3, initial_interval=1.0, backoff_factor=2.0, max_interval=8.0, retry_on=is_transient
)
