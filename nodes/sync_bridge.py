"""Async nodes that sync graphs can run too.

The LM nodes are coroutines: served (`astream`/`ainvoke`), a run waiting on a model holds no
thread. `graph.invoke`/`graph.stream` (self-hosting on a sync checkpointer, the offline
evaluation, some benchmarks and tests) need a sync body; `both_ways` gives a node one that runs
the same coroutine on one process-wide background event loop, in the calling node's context (so
LangGraph's config, runtime and stream writer are the node's own), and waits for its result.
One loop for the process, not one per call: async HTTP clients cached by the LM library stay
bound to a loop that lives.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.runtime import Runtime, get_runtime

from agent_types.context import Context

S = TypeVar("S")
Node = Callable[[S, Runtime[Context]], Awaitable[dict[str, Any]]]

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def _background_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="sync-nodes-loop", daemon=True).start()
            _loop = loop
        return _loop


def run_blocking(awaitable: Awaitable[Any]) -> Any:
    """Await `awaitable` on the background loop, in a copy of the caller's context; block until done."""
    loop = _background_loop()
    done: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def settle(task: asyncio.Future[Any]) -> None:
        if task.cancelled():
            done.cancel()
        elif (exc := task.exception()) is not None:
            done.set_exception(exc)
        else:
            done.set_result(task.result())

    def start() -> None:  # runs in the caller's context: the task copies it
        asyncio.ensure_future(awaitable).add_done_callback(settle)

    loop.call_soon_threadsafe(start, context=contextvars.copy_context())
    return done.result()


class BothWays(Runnable[S, dict[str, Any]]):
    """`node` for async graphs as it is, and for sync graphs through `run_blocking`. A bare Runnable,
    not a RunnableLambda: no callback run per call (LangGraph traces the node itself)."""

    def __init__(self, node: Node[S], name: str) -> None:
        self.node = node
        self.name = name

    def invoke(self, input: S, config: RunnableConfig | None = None, **kwargs: Any) -> dict[str, Any]:
        return run_blocking(self.node(input, get_runtime(Context)))  # type: ignore[no-any-return]

    async def ainvoke(self, input: S, config: RunnableConfig | None = None, **kwargs: Any) -> dict[str, Any]:
        return await self.node(input, get_runtime(Context))


def both_ways(node: Node[S], name: str) -> BothWays[S]:
    return BothWays(node, name)
