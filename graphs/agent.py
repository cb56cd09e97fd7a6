"""The agent graph: select tools -> run them in parallel -> check the calls -> synthesize -> critique/refine.

intake ─► select ─┬─► run_<tool> (one per call, in parallel via Send, cached) ─┐
                  └─ no call ─────────────────────────────────────────────────┴─► check_calls
check_calls ─┬─ a call failed or does not match the question ─► select   (bounded by max_tool_rounds)
             ├─ every call failed, no tries left ─────────────► finalize
             ├─ no further call after "need more info" ───────► refine (or finalize)
             └─ otherwise ───────────────────────────────────► synthesize
synthesize ─► critique ─┬─ accept ──────────► finalize ─► END
                        ├─ refine ──► refine ─┬─ kept ─► critique
                        │                     └─ not better ─► finalize
                        └─ need more info ──► select          (a missing step; bounded by max_tool_rounds)

check_calls and critique run deterministic checks first (nodes/checks.py): a failed call, or one
whose arguments the question does not support, goes back to the selector with its error before any
draft, and so do passages in another unit than the question asks, or beside a quantity the question
states that nothing computed with; the selector is told which call would fit (nodes/hints.py). A
draft built on passages that states a figure no tool produced goes back to the selector (the
missing computation), not to the refiner; the critic model judges only results no check can
judge; a refined draft replaces the old one only if it is better; no critic or refiner call starts
after the turn's first `loop_seconds`, and a critic call still running then is not waited for;
finalize never answers with a tool's raw error or a check's instruction. With `critique` off,
check_calls passes through.

Every node's latency is recorded (`timed`, runtime/metrics.py); the executors' results are
cached by tool, version and arguments (runtime/cache.py), LM responses by DSPy (runtime/lm_cache.py).
`graph` below is what langgraph.json serves; importing this module builds it, and building
configures the libraries (runtime/bootstrap.py): nothing is configured by merely importing a package.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.tools import BaseTool
from langgraph.cache.base import BaseCache
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from agent_types.context import Context
from agent_types.state import AgentState, InputState
from dspy_programs.store import status_line
from nodes.critique import critique, make_check_calls, out_of_time, refine
from nodes.execute import make_executor
from nodes.finalize import finalize
from nodes.intake import intake
from nodes.retry import LM_RETRY
from nodes.select import make_select
from nodes.sync_bridge import both_ways
from nodes.synthesize import synthesize
from runtime.agent_config import load_tools
from runtime.audit import open_audit_log
from runtime.bootstrap import configure
from runtime.cache import build_cache, metered
from runtime.metrics import timed
from runtime.names import executor_node_name

log = logging.getLogger("agent")

# The routers sit here, beside the edges that use them: where the graph goes next is part of its
# wiring. Every loop is bounded by the run's context.


def after_intake(state: AgentState) -> Literal["select", "__end__"]:
    return "__end__" if state.get("error") else "select"


def after_select(state: AgentState) -> list[Send] | Literal["check_calls"]:
    calls = state.get("pending_calls", [])
    if not calls:
        return "check_calls"
    return [Send(executor_node_name(c["name"]), {"call": c}) for c in calls]


def after_check_calls(
    state: AgentState, runtime: Runtime[Context]
) -> Literal["select", "synthesize", "refine", "finalize"]:
    """Back to select when the check sent calls back (it counts the rounds); to finalize when every
    call failed and the selector has had its tries (the answer says what could not be done, and a
    draft from errors alone is wasted); to the refiner when the selector, sent back for a missing
    step, made no further call; else draft the answer."""
    ctx = runtime.context or Context()
    if state.get("retry_calls"):
        return "select"
    results = state.get("tool_results", [])
    if ctx.critique and results and all(r.get("error") for r in results):
        return "finalize"
    if state.get("verdict") == "need_more_info" and not state.get("pending_calls"):
        return "refine" if may_refine(state, ctx) else "finalize"
    return "synthesize"


def after_synthesize(state: AgentState, runtime: Runtime[Context]) -> Literal["critique", "finalize"]:
    ctx = runtime.context or Context()
    return "critique" if ctx.critique else "finalize"


def after_critique(state: AgentState, runtime: Runtime[Context]) -> Literal["select", "refine", "finalize"]:
    ctx = runtime.context or Context()
    verdict = state.get("verdict")
    if verdict == "need_more_info" and state.get("rounds", 0) < ctx.max_tool_rounds:
        return "select"
    if verdict in ("refine", "need_more_info") and may_refine(state, ctx):
        return "refine"
    return "finalize"


def may_refine(state: AgentState, ctx: Context) -> bool:
    """Refinements left, and time left for one (context.loop_seconds)."""
    return state.get("refinements", 0) < ctx.max_refinements and not out_of_time(state, ctx)


def after_refine(state: AgentState) -> Literal["critique", "finalize"]:
    """A refined draft that was not kept ends the loop: the old draft was the better one."""
    return "critique" if state.get("refine_kept") else "finalize"


def build_graph(
    tools: Sequence[BaseTool] | None = None, cache: BaseCache[Any] | None = None
) -> CompiledStateGraph[AgentState, Context, InputState, AgentState]:
    """The agent over `tools` (default: the configured agent's, agent.toml's `tools`)."""
    # The one place the served graph configures its libraries: defaults and DSPy's process-global
    # response cache (runtime/bootstrap.py; idempotent), before any node can run. The audit file
    # opens now, so a bad AUDIT_LOG_PATH fails the server's start, not the first run.
    configure()
    open_audit_log()
    tools = load_tools() if tools is None else tools
    log.info("%s", status_line())  # which program runs for each role, at the server's start
    builder: StateGraph[AgentState, Context, InputState, AgentState] = StateGraph(
        AgentState, input_schema=InputState, context_schema=Context
    )
    builder.add_node("intake", timed("intake", intake))
    # The LM nodes are async (a run waiting on a model holds no thread) and still run under
    # graph.invoke/stream (nodes/sync_bridge.py).
    builder.add_node("select", both_ways(timed("select", make_select(tools)), "select"), retry_policy=LM_RETRY)
    # The executors read and write the tool cache themselves, after their permission check
    # (nodes/execute.py); the graph is compiled with it too, so graph.clear_cache() clears it.
    tool_cache = metered(cache) if cache is not None else build_cache()
    executors = [executor_node_name(t.name) for t in tools]
    for tool in tools:
        name = executor_node_name(tool.name)
        builder.add_node(name, timed(name, make_executor(tool, tool_cache)))
    builder.add_node("check_calls", timed("check_calls", make_check_calls(tools)))
    builder.add_node("synthesize", both_ways(timed("synthesize", synthesize), "synthesize"), retry_policy=LM_RETRY)
    builder.add_node("critique", both_ways(timed("critique", critique), "critique"), retry_policy=LM_RETRY)
    builder.add_node("refine", both_ways(timed("refine", refine), "refine"), retry_policy=LM_RETRY)
    builder.add_node("finalize", timed("finalize", finalize))

    builder.add_edge(START, "intake")
    builder.add_conditional_edges("intake", after_intake, ["select", END])
    builder.add_conditional_edges("select", after_select, [*executors, "check_calls"])
    for name in executors:
        builder.add_edge(name, "check_calls")
    builder.add_conditional_edges("check_calls", after_check_calls, ["select", "synthesize", "refine", "finalize"])
    builder.add_conditional_edges("synthesize", after_synthesize, ["critique", "finalize"])
    builder.add_conditional_edges("critique", after_critique, ["select", "refine", "finalize"])
    builder.add_conditional_edges("refine", after_refine, ["critique", "finalize"])
    builder.add_edge("finalize", END)
    return builder.compile(cache=tool_cache, name="agent")


graph = build_graph()
