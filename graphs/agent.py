"""The agent graph: select tools -> run them in parallel -> synthesize -> critique/refine.

intake ─► select ─┬─► run_<tool> (one per call, in parallel via Send, cached) ─┐
                  └──────────────────────────────────────────────────────────► synthesize
synthesize ─► critique ─┬─ accept ──────────► finalize ─► END
                        ├─ refine ──► refine ─┬─ kept ─► critique
                        │                     └─ not better ─► finalize
                        └─ need more info ──► select

critique runs deterministic checks first (nodes/checks.py) and calls the critic model only for
results no check can judge; a refined draft replaces the old one only if it is better.

Every node's latency is recorded (`timed`, runtime/metrics.py); the executors' results are
cached by tool, version and arguments (runtime/cache.py), LM responses by DSPy (runtime/lm_cache.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.tools import BaseTool
from langgraph.cache.base import BaseCache
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from graphs.context import Context
from graphs.state import AgentState, InputState
from nodes.critique import critique, refine
from nodes.execute import cache_policy, executor_node_name, make_executor
from nodes.finalize import finalize
from nodes.intake import intake
from nodes.retry import LM_RETRY
from nodes.routing import after_critique, after_intake, after_refine, after_select, after_synthesize
from nodes.select import make_select
from nodes.synthesize import synthesize
from runtime.audit import open_audit_log
from runtime.cache import build_cache, metered
from runtime.lm_cache import configure_lm_cache
from runtime.metrics import timed
from tools import TOOLS

# DSPy's response cache is process-global: configured here, once, by the importing thread,
# before any node can run (see runtime/lm_cache.py for where it lives and how to turn it off).
configure_lm_cache()
# The audit file opens now, so a bad AUDIT_LOG_PATH fails the server's start, not the first run.
open_audit_log()


def build_graph(
    tools: Sequence[BaseTool] = TOOLS, cache: BaseCache[Any] | None = None
) -> CompiledStateGraph[AgentState, Context, InputState, AgentState]:
    builder: StateGraph[AgentState, Context, InputState, AgentState] = StateGraph(
        AgentState, input_schema=InputState, context_schema=Context
    )
    builder.add_node("intake", timed("intake", intake))
    builder.add_node("select", timed("select", make_select(tools)), retry_policy=LM_RETRY)
    executors = [executor_node_name(t.name) for t in tools]
    for tool in tools:
        name = executor_node_name(tool.name)
        builder.add_node(name, timed(name, make_executor(tool)), cache_policy=cache_policy(tool))
    builder.add_node("synthesize", timed("synthesize", synthesize), retry_policy=LM_RETRY)
    builder.add_node("critique", timed("critique", critique), retry_policy=LM_RETRY)
    builder.add_node("refine", timed("refine", refine), retry_policy=LM_RETRY)
    builder.add_node("finalize", timed("finalize", finalize))

    builder.add_edge(START, "intake")
    builder.add_conditional_edges("intake", after_intake, ["select", END])
    builder.add_conditional_edges("select", after_select, [*executors, "synthesize"])
    for name in executors:
        builder.add_edge(name, "synthesize")
    builder.add_conditional_edges("synthesize", after_synthesize, ["critique", "finalize"])
    builder.add_conditional_edges("critique", after_critique, ["select", "refine", "finalize"])
    builder.add_conditional_edges("refine", after_refine, ["critique", "finalize"])
    builder.add_edge("finalize", END)
    # Whatever cache is given, hits are counted and audited (runtime/cache.py).
    return builder.compile(cache=metered(cache) if cache is not None else build_cache(), name="agent")


graph = build_graph()
