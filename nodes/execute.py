"""Tool executor nodes: one per tool, each run by `Send`; one path (`execute`) checks, reads the cache, runs, audits."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langchain_core.tools import BaseTool
from langgraph.config import get_stream_writer

from agent_types.state import ExecutorInput, ToolCall, ToolResult
from nodes.sync_bridge import run_blocking
from runtime.audit import audit_tool_call
from runtime.cache import MeteredCache
from runtime.circuit import CircuitBreaker, breaker_for
from runtime.grants import Caller, current_caller, refusal
from runtime.limits import tool_limiter
from runtime.metrics import TOOL_RATE_LIMITED
from runtime.names import executor_node_name
from runtime.settings import get_settings
from tools import dates
from tools.errors import ToolUnavailableError


def tool_version(tool: BaseTool) -> str:
    return str((tool.metadata or {}).get("version", "0"))


def tool_ttl(tool: BaseTool) -> int:
    """Seconds a result stays cached: settings override the tool's default; 0 = never cached."""
    override = get_settings().tool_ttls.get(tool.name)
    return int(override if override is not None else (tool.metadata or {}).get("ttl", 0))


def per_user(tool: BaseTool) -> bool:
    """Do this tool's results depend on who asks? Then the user is part of its cache key."""
    return tool.name in get_settings().tool_cache_per_user or bool((tool.metadata or {}).get("per_user"))


def cache_key(tool: BaseTool, call: ToolCall) -> str:
    """The key of an admitted call: the tool, its version and its arguments (not the call id), so
    equal calls from any thread share one entry and a new tool version never reads an old one.

    A call whose answer depends on the current date ("today") also carries today's date, so its
    entry is never served on another day, whatever the TTL. A tool whose answer depends on the
    user (`per_user`) carries the user.
    """
    args = call["args"]
    parts: list[Any] = [tool.name, tool_version(tool), args]
    if dates.is_time_dependent(args):
        parts.append(dates.today().isoformat())
    if per_user(tool):
        parts.append({"user": call.get("user")})
    return json.dumps(parts, sort_keys=True, default=str)


def _call_of(tool: BaseTool, inp: Any, caller: Caller) -> ToolCall:
    """The call this executor was sent; a client's `goto` to the node without one is refused, audited."""
    call = inp.get("call") if isinstance(inp, dict) else None
    if not isinstance(call, dict) or not isinstance(call.get("args"), dict) or not isinstance(call.get("call_id"), str):
        audit_tool_call(tool.name, {}, outcome="denied", seconds=0.0, caller=caller)
        raise ValueError(f"{executor_node_name(tool.name)} runs only tool calls offered by the select node")
    return call  # type: ignore[return-value]


def _result(tool: BaseTool, call: ToolCall, output: str | None, error: str | None, started: float,
            cache_hit: bool = False) -> dict[str, Any]:  # fmt: skip
    seconds = round(time.perf_counter() - started, 4)
    result: ToolResult = {
        "call_id": call["call_id"], "name": tool.name, "args": call["args"],
        "output": None if error else output, "error": error, "seconds": seconds, "cache_hit": cache_hit,
    }  # fmt: skip
    get_stream_writer()({"event": "tool_finished", "call_id": call["call_id"], "name": tool.name, "error": error,
                         "seconds": seconds, "cache_hit": cache_hit})  # fmt: skip
    return {"tool_results": [result]}


def _describe(tool: BaseTool, exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"{tool.name} timed out after {get_settings().tool_timeout_s:g}s"
    # A ValueError (ToolInputError included) already reads as a message for the user.
    return str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"


def _is_failure(exc: BaseException) -> bool:
    """Does this error count toward the circuit breaker? Bad input from the model does not."""
    return isinstance(exc, (TimeoutError, ToolUnavailableError)) or not isinstance(exc, ValueError)


def _judge(breaker: CircuitBreaker, exc: BaseException | None) -> None:
    """Tell the breaker how the backend did. Bad input (a ValueError the tool raised while validating)
    says nothing about the backend: no verdict, and a half-open trial is given back, not passed."""
    if exc is None:
        breaker.record(failed=False)
    elif _is_failure(exc):
        breaker.record(failed=True)
    else:
        breaker.release()


async def execute(tool: BaseTool, cache: MeteredCache | None, inp: Any, caller: Caller) -> dict[str, Any]:
    """One tool call, the only path there is: every call, cached or not, goes through these steps.

    1. The grant check (runtime/grants.refusal): the caller's current permissions, the signature,
       the binding to this user, thread and run, the expiry. A refused call is audited `denied`
       and reads nothing, not even the cache.
    2. The cache: a hit is audited with the caller, thread and run (`cache_hit: true`) and returned.
    3. The circuit breaker and the user's rate limit for this tool.
    4. The audit line `started`, then the tool (in a worker thread if it is sync, with a timeout),
       then the audit line with the outcome (`ok`, `error`, or `cancelled` if the run stopped).
    5. A result without an error is stored for the tool's TTL.
    A tool's failure is data for the answer, never a crash of the run.
    """
    started = time.perf_counter()
    call = _call_of(tool, inp, caller)
    args = call["args"]
    if reason := refusal(call, tool.name, caller):
        audit_tool_call(tool.name, args, outcome="denied", seconds=0.0, caller=caller)
        return _result(tool, call, None, reason, started)

    ttl = tool_ttl(tool)
    key = cache_key(tool, call) if cache is not None and ttl > 0 else None
    if cache is not None and key is not None and (output := await cache.lookup(tool.name, key)) is not None:
        audit_tool_call(tool.name, args, outcome="ok", cache_hit=True, seconds=0.0, caller=caller)
        return _result(tool, call, output, None, started, cache_hit=True)

    breaker = breaker_for(tool.name)
    if not breaker.allow():
        audit_tool_call(tool.name, args, outcome="circuit_open", seconds=0.0, caller=caller)
        return _result(tool, call, None, breaker.refusal(), started)
    trial = breaker.state == "half_open"  # allowed in half-open: this call is the trial
    judged = False
    try:
        limiter = tool_limiter(tool.name, caller.user)
        timeout = get_settings().tool_timeout_s
        if limiter is not None and not await limiter.aacquire_within(timeout):
            TOOL_RATE_LIMITED.labels(tool.name).inc()
            audit_tool_call(tool.name, args, outcome="rate_limited", seconds=0.0, caller=caller)
            per_minute = get_settings().tool_rate_per_minute(tool.name)
            return _result(tool, call, None, f"{tool.name} is rate limited ({per_minute:g} calls per minute per "
                                             "user); try again shortly", started)  # fmt: skip
        get_stream_writer()({"event": "tool_started", "call_id": call["call_id"], "name": tool.name, "args": args})
        audit_tool_call(tool.name, args, outcome="started", caller=caller)
        try:
            value = await asyncio.wait_for(tool.ainvoke(args), timeout=timeout)
        except asyncio.CancelledError:
            audit_tool_call(tool.name, args, outcome="cancelled", seconds=_since(started), caller=caller)
            raise
        except Exception as exc:
            _judge(breaker, exc)
            judged = True
            audit_tool_call(tool.name, args, outcome="error", seconds=_since(started), caller=caller)
            return _result(tool, call, None, _describe(tool, exc), started)
        _judge(breaker, None)
        judged = True
        audit_tool_call(tool.name, args, outcome="ok", seconds=_since(started), caller=caller)
        output = value if isinstance(value, str) else json.dumps(value, default=str)
        if cache is not None and key is not None:
            await cache.store(tool.name, key, output, ttl)
        return _result(tool, call, output, None, started)
    finally:
        if trial and not judged:  # a trial that ended without a verdict must not hold the breaker
            breaker.release()


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 4)


def make_executor(tool: BaseTool, cache: MeteredCache | None = None) -> Runnable[ExecutorInput, dict[str, Any]]:
    """The node that runs calls of `tool` through `execute`, in async graphs directly and in sync
    graphs on the background loop (nodes/sync_bridge.py): one body, not a sync and an async copy."""

    async def run(inp: ExecutorInput, config: RunnableConfig) -> dict[str, Any]:
        return await execute(tool, cache, inp, current_caller(config))

    def run_sync(inp: ExecutorInput, config: RunnableConfig) -> dict[str, Any]:
        return run_blocking(run(inp, config))  # type: ignore[no-any-return]

    return RunnableLambda(run_sync, afunc=run, name=executor_node_name(tool.name))
