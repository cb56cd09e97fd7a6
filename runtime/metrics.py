"""Prometheus metrics of the agent, in one registry served at /metrics.

A dedicated registry (not the process-global default) so that only the agent's series are
served and tests can read exact values. Everything here is cheap to update from any thread.

What can be derived:
- p50/p95/p99 latency per node: histogram_quantile(0.95, rate(agent_node_latency_seconds_bucket[5m]))
- tool cache hit rate: agent_tool_cache_requests_total{result="hit"} / sum by (tool) (...)
- LM spend: agent_lm_cost_usd_total (prices from MODEL_PRICES; 0 for local models)
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from typing import Any, TypeVar

from langchain_core.runnables import RunnableLambda
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

REGISTRY = CollectorRegistry(auto_describe=True)

TOOL_CIRCUIT_OPEN = Gauge(
    "agent_tool_circuit_open",
    "1 while the tool's circuit breaker is open or half-open (calls refused), 0 when closed.",
    ["tool"],
    registry=REGISTRY,
)

NODE_LATENCY = Histogram(
    "agent_node_latency_seconds",
    "Wall time of one execution of a graph node (a cached tool call does not execute its node).",
    ["node"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160),
    registry=REGISTRY,
)
NODE_ERRORS = Counter("agent_node_errors_total", "Node executions that raised.", ["node"], registry=REGISTRY)

TOOL_CACHE = Counter(
    "agent_tool_cache_requests_total",
    "Tool-cache lookups by result (hit or miss); hit rate = hit / (hit + miss).",
    ["tool", "result"],
    registry=REGISTRY,
)
TOOL_CACHE_ERRORS = Counter(
    "agent_tool_cache_errors_total", "Tool-cache operations that failed (Redis unreachable).", ["op"], registry=REGISTRY
)
TOOL_RATE_LIMITED = Counter(
    "agent_tool_rate_limited_total",
    "Tool calls refused because the tool's calls-per-minute limit stayed exhausted for the tool timeout.",
    ["tool"],
    registry=REGISTRY,
)

LM_CALLS = Counter(
    "agent_lm_calls_total", "LM requests that reached the model (not served by DSPy's cache).", ["node", "model"],
    registry=REGISTRY,
)  # fmt: skip
LM_CACHE_HITS = Counter(
    "agent_lm_cache_hits_total", "LM calls answered by DSPy's response cache.", ["node", "model"], registry=REGISTRY
)
LM_TOKENS = Counter(
    "agent_lm_tokens_total", "Tokens reported by the model, by kind (prompt or completion).", ["node", "model", "kind"],
    registry=REGISTRY,
)  # fmt: skip
LM_COST = Counter(
    "agent_lm_cost_usd_total", "Estimated spend in USD from MODEL_PRICES (0 for unlisted/local models).",
    ["node", "model"], registry=REGISTRY,
)  # fmt: skip


def metrics_text() -> tuple[bytes, str]:
    """The registry in Prometheus text exposition format, and its content type.

    generate_latest writes the classic 0.0.4 text format; it is labelled as such (not the
    library's newer default label) so every Prometheus version scrapes it as text.
    """
    return generate_latest(REGISTRY), CONTENT_TYPE_PLAIN_0_0_4


class _AgentMetrics:
    """A collector that yields the agent registry's metrics, to be registered in another registry."""

    def collect(self) -> Any:
        yield from REGISTRY.collect()


_exposed = False


def expose_in_default_registry() -> None:
    """Also show the agent's series in prometheus_client's process-wide default registry.

    `langgraph dev` / LangGraph Platform serve GET /metrics themselves, from that default
    registry, and a custom app cannot shadow the route: this is how the agent's series get
    there. The dedicated registry stays the source of truth (and is served alone at
    /agent/metrics by serving/http_app.py).
    """
    global _exposed
    if _exposed:
        return
    import prometheus_client

    prometheus_client.REGISTRY.register(_AgentMetrics())  # type: ignore[arg-type]
    _exposed = True


def sample(name: str, **labels: str) -> float:
    """One current value (0 when the series does not exist yet): for tests and debugging."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


F = TypeVar("F", bound=Callable[..., Any])


def _timed_function(node: str, fn: F) -> F:
    histogram = NODE_LATENCY.labels(node)
    errors = NODE_ERRORS.labels(node)

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def atimed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            except BaseException:
                errors.inc()
                raise
            finally:
                histogram.observe(time.perf_counter() - started)

        return atimed  # type: ignore[return-value]

    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        except BaseException:
            errors.inc()
            raise
        finally:
            histogram.observe(time.perf_counter() - started)

    return timed  # type: ignore[return-value]


N = TypeVar("N")


def timed(node: str, fn: N) -> N:
    """`fn` (a node function, or a RunnableLambda with sync and async bodies) with its latency recorded.

    functools.wraps keeps the signature, so LangGraph still passes `runtime`/`config` to nodes
    that ask for them. Retries are timed attempt by attempt.
    """
    if isinstance(fn, RunnableLambda):
        afunc = getattr(fn, "afunc", None)
        return RunnableLambda(  # type: ignore[return-value]
            _timed_function(node, fn.func),  # type: ignore[arg-type]
            afunc=_timed_function(node, afunc) if afunc is not None else None,
            name=fn.name,
        )
    return _timed_function(node, fn)  # type: ignore[type-var]
