"""Self-hosting without LangGraph Platform: the same graph, persisted in PostgreSQL.

`langgraph dev` and LangGraph Platform bring their own checkpointer, so graphs/agent.py never
sets one. To embed the agent in your own service instead, compile the same builder with
PostgresSaver: threads (conversation and state) then survive restarts and are shared by every
process that points at the same database.

    graph = build_persistent_graph("postgresql://user@host:5432/db")
    cfg = {"configurable": {"thread_id": "customer-42"}}
    graph.invoke({"messages": [{"role": "user", "content": "Where is order A1001?"}]}, cfg)
    ...
    close_persistent_graph(graph)

Or from the shell: `python -m serving.selfhost --dsn postgresql://... --thread t1 "question"`.
Needs the `postgres` extra (pip install -e '.[postgres]'). The tables (checkpoints,
checkpoint_blobs, checkpoint_writes, checkpoint_migrations) are created on first use; put
`options=-csearch_path=<schema>` in the DSN to keep them in their own schema.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import psycopg
from langchain_core.tools import BaseTool
from langgraph.cache.base import BaseCache
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.graph.state import CompiledStateGraph
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from agent_types.context import Context
from agent_types.state import AgentState, InputState
from graphs.agent import build_graph
from runtime.cache import redact_url
from runtime.settings import get_settings
from serving.preflight import model_problem

PersistentGraph = CompiledStateGraph[AgentState, Context, InputState, AgentState]


def build_persistent_graph(
    dsn: str,
    *,
    tools: Sequence[BaseTool] | None = None,  # default: the configured agent's tools (agent.toml)
    cache: BaseCache[Any] | None = None,
    pool_size: int = 8,
    setup: bool = True,
) -> PersistentGraph:
    """The agent graph with a PostgreSQL checkpointer over a connection pool (close it with
    `close_persistent_graph`). `setup` creates or migrates the checkpoint tables."""
    pool: ConnectionPool[Any] = ConnectionPool(
        dsn,
        min_size=1,
        max_size=pool_size,
        # The settings PostgresSaver needs: autocommit, dict rows, no server-side prepared statements.
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        open=True,
    )
    try:
        saver = PostgresSaver(pool)
        if setup:
            saver.setup()
    except Exception:
        pool.close()
        raise
    graph = build_graph(tools, cache=cache)  # the executors hold its tool cache; compile with the same one
    return graph.builder.compile(checkpointer=saver, cache=graph.cache, name="agent")


def close_persistent_graph(graph: PersistentGraph) -> None:
    saver = graph.checkpointer
    if isinstance(saver, PostgresSaver) and isinstance(saver.conn, ConnectionPool):
        saver.conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m serving.selfhost", description="Ask the agent on a persisted thread."
    )
    parser.add_argument("question", nargs="?", help="omit to print the thread's last answer")
    parser.add_argument("--dsn", required=True, help="PostgreSQL connection string")
    parser.add_argument("--thread", required=True, help="thread id: the same id continues the conversation")
    parser.add_argument("--no-critique", action="store_true")
    args = parser.parse_args(argv)
    if args.question and (problem := model_problem(get_settings())):
        print(f"selfhost: {problem}", file=sys.stderr)
        return 1
    try:
        graph = build_persistent_graph(args.dsn)
    except psycopg.OperationalError as exc:
        print(f"selfhost: cannot use PostgreSQL at {redact_url(args.dsn)}: {' '.join(str(exc).split())}",
              file=sys.stderr)  # fmt: skip
        return 1
    try:
        cfg: Any = {"configurable": {"thread_id": args.thread}}
        if args.question:
            payload: Any = {"messages": [{"role": "user", "content": args.question}]}  # coerced to InputState
            graph.invoke(payload, cfg, context=Context(critique=not args.no_critique))
        values = graph.get_state(cfg).values
        if not values:
            print(f"error: thread {args.thread!r} has no state", file=sys.stderr)
            return 1
        print(values.get("answer", ""))
        return 0
    finally:
        close_persistent_graph(graph)


if __name__ == "__main__":
    raise SystemExit(main())
