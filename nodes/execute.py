"""Tool executor nodes: one per tool, each run by `Send` and cached by LangGraph's node cache."""

from __future__ import annotations

import asyncio
import contextvars
import json
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.tools import BaseTool
from langgraph.config import get_stream_writer
from langgraph.types import CachePolicy

from agent_types.state import ExecutorInput, ToolCall, ToolResult
from runtime.audit import Outcome, audit_tool_call
from runtime.cache import expect_lookup
from runtime.circuit import breaker_for
from runtime.grants import is_granted
from runtime.identity import permitted_tools, user_id
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


def cache_key(tool: BaseTool) -> Callable[[ExecutorInput], str]:
    """The key is the tool, its version and its arguments only (not the call id), so equal calls
    from any thread share one entry and a new tool version never reads an old one.

    A call whose answer depends on the current date ("today") also carries today's date, so
    its entry is never served on another day, whatever the TTL. A tool whose answer depends on
    the user (`per_user`) carries the user the call was granted to.

    LangGraph looks the key up before the node runs, so the permission check happens here too: a
    call the select node did not sign for this tool (runtime/grants.py) gets a key of its own that
    no entry can have, and misses; the executor then refuses it.
    """
    version = tool_version(tool)

    def key(inp: ExecutorInput) -> str:
        call = inp.get("call") if isinstance(inp, dict) else None
        if not isinstance(call, dict):
            # LangGraph also computes keys while drawing the graph (Studio, /assistants/*/graph),
            # with placeholder inputs that carry no call.
            return json.dumps([tool.name, version, None, secrets.token_hex(16)])
        if call.get("name") != tool.name or not is_granted(call):
            return json.dumps([tool.name, version, "not granted", secrets.token_hex(16)])
        args = call["args"]
        parts: list[Any] = [tool.name, version, args]
        if dates.is_time_dependent(args):
            parts.append(dates.today().isoformat())
        if per_user(tool):
            parts.append({"user": call["user"]})
        text = json.dumps(parts, sort_keys=True, default=str)
        expect_lookup(text, tool.name, call)  # so that a hit is audited (runtime/cache.py)
        return text

    return key


def cache_policy(tool: BaseTool) -> CachePolicy[Callable[[ExecutorInput], str]] | None:
    ttl = tool_ttl(tool)
    return CachePolicy(key_func=cache_key(tool), ttl=ttl) if ttl > 0 else None


def _finish(tool: BaseTool, call: ToolCall, value: Any, error: str | None, started: float) -> dict[str, Any]:
    output = None if error else (value if isinstance(value, str) else json.dumps(value, default=str))
    seconds = round(time.perf_counter() - started, 4)
    result: ToolResult = {
        "call_id": call["call_id"], "name": tool.name, "args": call["args"],
        "output": output, "error": error, "seconds": seconds,
    }  # fmt: skip
    get_stream_writer()({"event": "tool_finished", "call_id": call["call_id"], "name": tool.name, "error": error,
                         "seconds": seconds})  # fmt: skip
    return {"tool_results": [result]}


def _describe(tool: BaseTool, exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"{tool.name} timed out after {get_settings().tool_timeout_s:g}s"
    # A ValueError (ToolInputError included) already reads as a message for the user.
    return str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"


def _is_failure(exc: BaseException) -> bool:
    """Does this error count toward the circuit breaker? Bad input from the model does not."""
    return isinstance(exc, (TimeoutError, ToolUnavailableError)) or not isinstance(exc, ValueError)


def _refuse(tool: BaseTool, call: ToolCall) -> tuple[Outcome, str] | None:
    """Why this call must not run, checked before the tool is touched; None lets it run.

    Permissions come from the verified user (defense in depth: the selector never offers a
    forbidden tool either). An open circuit refuses without calling the tool.
    """
    permitted = permitted_tools()
    if permitted is not None and tool.name not in permitted:
        return "denied", f"{tool.name} is not permitted for this user"
    if call.get("name") != tool.name or not is_granted(call) or call.get("user") != user_id():
        return "denied", f"{tool.name}: this call was not offered to this user by the selector"
    breaker = breaker_for(tool.name)
    if not breaker.allow():
        return "circuit_open", breaker.refusal()
    return None


def _settle(tool: BaseTool, call: ToolCall, exc: BaseException | None, started: float) -> None:
    breaker_for(tool.name).record(failed=exc is not None and _is_failure(exc))
    audit_tool_call(tool.name, call["args"], outcome="error" if exc else "ok",
                    seconds=round(time.perf_counter() - started, 4))  # fmt: skip


def _refused(tool: BaseTool, call: ToolCall, refusal: tuple[Outcome, str], started: float) -> dict[str, Any]:
    audit_tool_call(tool.name, call["args"], outcome=refusal[0], seconds=0.0)
    return _finish(tool, call, None, refusal[1], started)


def _call_of(tool: BaseTool, inp: Any) -> ToolCall:
    """The call this executor was sent; a client's `goto` to the node without one is refused, audited."""
    call = inp.get("call") if isinstance(inp, dict) else None
    if not isinstance(call, dict) or not isinstance(call.get("args"), dict) or not isinstance(call.get("call_id"), str):
        audit_tool_call(tool.name, {}, outcome="denied", seconds=0.0)
        raise ValueError(f"{executor_node_name(tool.name)} runs only tool calls offered by the select node")
    return call  # type: ignore[return-value]


def _rate_limited(tool: BaseTool) -> str:
    """The error of a call that waited TOOL_TIMEOUT_S for its turn under the calls-per-minute limit."""
    TOOL_RATE_LIMITED.labels(tool.name).inc()
    limit = get_settings().tool_rate_per_minute(tool.name)
    return f"{tool.name} is rate limited ({limit:g} calls per minute); try again shortly"


def _start(tool: BaseTool, call: ToolCall) -> float:
    get_stream_writer()({"event": "tool_started", "call_id": call["call_id"], "name": tool.name, "args": call["args"]})
    return time.perf_counter()


# Sync tools run here, so a hanging one costs a worker thread, not the run: the caller
# stops waiting at the timeout and records an error.
_POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="tool")


def make_executor(tool: BaseTool) -> Runnable[ExecutorInput, dict[str, Any]]:
    """A node that runs one call of `tool`, from sync (`invoke`) and async (`ainvoke`) graphs alike.

    A tool's failure is data for the answer, never a crash of the run.
    """

    def run_sync(inp: ExecutorInput) -> dict[str, Any]:
        call = _call_of(tool, inp)
        started = _start(tool, call)
        if refusal := _refuse(tool, call):
            return _refused(tool, call, refusal, started)
        breaker = breaker_for(tool.name)
        trial = breaker.state == "half_open"  # allowed in half-open: this call is the trial
        try:
            limiter = tool_limiter(tool.name)
            if limiter is not None and not limiter.acquire_within(get_settings().tool_timeout_s):
                return _finish(tool, call, None, _rate_limited(tool), started)
            ctx = contextvars.copy_context()
            try:
                value = _POOL.submit(ctx.run, tool.invoke, call["args"]).result(timeout=get_settings().tool_timeout_s)
            except Exception as exc:
                _settle(tool, call, exc, started)
                return _finish(tool, call, None, _describe(tool, exc), started)
            _settle(tool, call, None, started)
            return _finish(tool, call, value, None, started)
        finally:
            if trial:  # a trial that ended without a verdict (rate-limited) must not hold the breaker
                breaker.release()

    async def run_async(inp: ExecutorInput) -> dict[str, Any]:
        call = _call_of(tool, inp)
        started = _start(tool, call)
        if refusal := _refuse(tool, call):
            return _refused(tool, call, refusal, started)
        breaker = breaker_for(tool.name)
        trial = breaker.state == "half_open"  # allowed in half-open: this call is the trial
        try:
            limiter = tool_limiter(tool.name)
            if limiter is not None and not await limiter.aacquire_within(get_settings().tool_timeout_s):
                return _finish(tool, call, None, _rate_limited(tool), started)
            try:
                value = await asyncio.wait_for(tool.ainvoke(call["args"]), timeout=get_settings().tool_timeout_s)
            except Exception as exc:
                _settle(tool, call, exc, started)
                return _finish(tool, call, None, _describe(tool, exc), started)
            _settle(tool, call, None, started)
            return _finish(tool, call, value, None, started)
        finally:
            if trial:  # a trial that ended without a verdict (rate-limited, cancelled) must not hold the breaker
                breaker.release()

    return RunnableLambda(run_sync, afunc=run_async, name=executor_node_name(tool.name))
