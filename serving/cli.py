"""`ask "question"`: run the agent and show its progress live, then the answer.

Talks to the served graph (`langgraph dev`) through langgraph_sdk when one answers at
LANGGRAPH_URL (with `--token` or AGENT_TOKEN as its bearer token when auth is on), and otherwise
runs the graph in this process; both render the same events. An expected failure (no model
server, a refused token, a failed run) is one line on stderr and exit 1, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
from collections.abc import AsyncGenerator
from typing import Any, ClassVar

import httpx
from dspy.utils.exceptions import LMError, LMTransportError
from pydantic import ValidationError

from dspy_programs.store import ProgramLoadError, status_line
from runtime.cache import redact_url, redis_cache
from runtime.names import tool_of_node
from runtime.settings import get_settings
from serving.preflight import START_MODEL, model_problem

DEFAULT_URL = "http://127.0.0.1:2124"


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Renderer:
    """Turns stream chunks (mode, data) into one line of progress each; answer tokens are
    written as they arrive, on one line per drafting node."""

    LABELS: ClassVar[dict[str, str]] = {"synthesize": "▸ drafting: ", "refine": "▸ refining: "}

    def __init__(self, out: Any = sys.stderr) -> None:
        self.out = out
        self.answer: str | None = None
        self.streaming: str | None = None  # the node whose tokens are being written

    def line(self, text: str) -> None:
        self.end_tokens()
        print(text, file=self.out, flush=True)

    def token(self, node: str, text: str) -> None:
        if self.streaming != node:
            self.end_tokens()
            self.out.write(self.LABELS.get(node, f"▸ {node}: "))
            self.streaming = node
        self.out.write(text.replace("\n", " "))
        self.out.flush()

    def end_tokens(self) -> None:
        if self.streaming is not None:
            self.out.write("\n")
            self.out.flush()
            self.streaming = None

    def handle(self, mode: str, data: Any) -> None:
        if mode == "custom" and isinstance(data, dict) and data.get("event") == "answer_token":
            self.token(str(data.get("node") or "answer"), str(data.get("text") or ""))
            return
        if mode == "custom" and isinstance(data, dict):
            event = data.get("event")
            if event == "tools_selected":
                calls = data.get("calls") or []
                names = ", ".join(f"{c['name']}({_short(c['args'], 80)})" for c in calls) or "none"
                self.line(f"▸ tools selected: {names}")
                for r in data.get("rejected") or []:
                    self.line(f"  ✗ rejected {r['name']}: {r['reason']}")
            elif event == "tool_finished":
                status = f"error: {data['error']}" if data.get("error") else "ok"
                self.line(f"  ✓ {data['name']} finished in {data.get('seconds', 0):.2f}s ({status})")
            elif event == "critique":
                by = "checks" if data.get("by") == "checks" else "critic model"
                note = _short(data.get("critique") or "") or "no comment"
                self.line(f"▸ critique ({by}): {data.get('verdict')} — {note}")
            elif event == "refine":
                kept = data.get("kept")
                self.line("▸ refined draft kept" if kept else f"▸ refined draft dropped: {data.get('reason', '')}")
        elif mode == "updates" and isinstance(data, dict):
            for node, update in data.items():
                if node == "__metadata__" or not isinstance(update, dict):
                    continue
                if tool_of_node(node) is not None:
                    for r in update.get("tool_results") or []:
                        hit = " (cache hit)" if r.get("cache_hit") else ""
                        outcome = f"error: {r['error']}" if r.get("error") else _short(r.get("output"))
                        self.line(f"  • {r['name']} → {outcome}{hit}")
                elif node == "synthesize":
                    self.line("▸ draft written")
                elif node == "refine":
                    self.end_tokens()
                else:
                    self.end_tokens()
                if update.get("answer"):
                    self.answer = update["answer"]


async def _remote_stream(
    url: str, question: str, context: dict[str, Any], token: str | None = None
) -> AsyncGenerator[tuple[str, Any], None]:
    from langgraph_sdk import get_client

    client = get_client(url=url, headers={"Authorization": f"Bearer {token}"} if token else None)
    thread = await client.threads.create()
    payload: dict[str, Any] = {"messages": [{"role": "user", "content": question}]}
    async for part in client.runs.stream(
        thread["thread_id"],
        "agent",
        input=payload,
        context=context,
        stream_mode=["updates", "custom"],
    ):
        yield part.event, part.data


async def _local_stream(question: str, context: dict[str, Any]) -> AsyncGenerator[tuple[str, Any], None]:
    from langgraph.types import StreamMode

    from agent_types.context import Context
    from graphs.agent import graph

    payload: Any = {"messages": [{"role": "user", "content": question}]}  # coerced to InputState by the graph
    modes: list[StreamMode] = ["updates", "custom"]
    async for mode, data in graph.astream(payload, context=Context(**context), stream_mode=modes):
        yield mode, data


def server_up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ok", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class AskError(Exception):
    """An expected failure of `ask`: its message is the one line the user sees."""


def refusal(exc: httpx.HTTPStatusError, url: str) -> str:
    """The one line for a request the server refused."""
    status = exc.response.status_code
    try:
        detail = str(exc.response.json().get("detail") or "")
    except ValueError:
        detail = exc.response.text[:200]
    line = f"the server at {url} refused the request ({status}{': ' + detail if detail else ''})"
    if status == 401:
        line += "; pass --token or set AGENT_TOKEN (mint one with `.venv/bin/agent-token --user NAME`)"
    return line


def run_failure(data: Any) -> str:
    """The one line for a run that failed on the server (its `error` stream event)."""
    error = data.get("error") if isinstance(data, dict) else None
    message = data.get("message") if isinstance(data, dict) else data
    line = f"the run failed on the server: {_short(f'{error}: {message}' if error else message, 300)}"
    if any(word in f"{error} {message}" for word in ("LMTransportError", "failed to connect", "Connection")):
        line += f" (the server's model server does not answer: {START_MODEL}, then restart the server)"
    return line


async def ask(question: str, url: str, context: dict[str, Any], local: bool, token: str | None = None) -> int:
    renderer = Renderer()
    use_server = not local and server_up(url)
    if not use_server and (problem := model_problem(get_settings())):
        raise AskError(problem)
    renderer.line(f"▸ asking {'the server at ' + url if use_server else 'the in-process graph'}")
    renderer.line(f"▸ {status_line()}")  # which program runs per role, for the configured models
    stream = _remote_stream(url, question, context, token) if use_server else _local_stream(question, context)
    try:
        # Closed on the way out, so a failure mid-stream leaves no open generator behind to complain.
        async with contextlib.aclosing(stream):
            async for mode, data in stream:
                if mode == "error":
                    renderer.end_tokens()
                    raise AskError(run_failure(data))
                renderer.handle(mode, data)
    except httpx.HTTPStatusError as exc:
        raise AskError(refusal(exc, url)) from None
    except httpx.TransportError as exc:
        raise AskError(f"lost the server at {url}: {exc}") from None
    except LMError as exc:  # in-process: the model went away during the run, or refused the call
        hint = f"; {START_MODEL}" if isinstance(exc, LMTransportError) else ""
        raise AskError(f"the model call failed: {_short(str(exc), 300)}{hint}") from None
    renderer.end_tokens()
    print(renderer.answer or "(no answer)")
    return 0


def ask_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ask", description="Ask the agent a question and watch it work.")
    parser.add_argument("question")
    parser.add_argument("--url", default=os.environ.get("LANGGRAPH_URL", DEFAULT_URL))
    parser.add_argument("--local", action="store_true", help="run the graph in this process even if a server is up")
    parser.add_argument("--no-critique", action="store_true")
    parser.add_argument("--token", default=os.environ.get("AGENT_TOKEN"),
                        help="bearer token for a server with auth on (default: AGENT_TOKEN; see agent-token)")
    args = parser.parse_args(argv)
    context: dict[str, Any] = {"critique": not args.no_critique}
    try:
        return asyncio.run(ask(args.question, args.url, context, args.local, args.token))
    except AskError as exc:
        print(f"ask: {exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:  # a setting in the environment or .env is invalid
        print(f"ask: {exc.errors()[0]['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return 2
    except ProgramLoadError as exc:  # in-process: a compiled program this code cannot run
        print(f"ask: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130



def cache_clear_main(argv: list[str] | None = None) -> int:
    """`cache-clear [--tool NAME] [--lm]`: invalidate cached tool results (in Redis) and/or DSPy's LM cache."""
    parser = argparse.ArgumentParser(prog="cache-clear", description=cache_clear_main.__doc__)
    parser.add_argument("--tool", help="only this tool's entries (all versions and arguments); default: every tool")
    parser.add_argument("--lm", action="store_true", help="also delete DSPy's on-disk LM response cache")
    args = parser.parse_args(argv)
    s = get_settings()
    if s.redis_url:
        try:
            deleted = redis_cache(s).clear_tool(args.tool)
        except Exception as exc:
            print(f"cache-clear: Redis at {redact_url(s.redis_url)} failed: {exc}")
            return 1
        print(f"deleted {deleted} cached result(s) of {args.tool or 'all tools'} from {redact_url(s.redis_url)}")
    else:
        print("REDIS_URL is not set: tool results are cached in each server process; restart it to clear them")
    if args.lm:
        shutil.rmtree(s.dspy_cache_dir, ignore_errors=True)
        print(f"deleted the LM cache at {s.dspy_cache_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(ask_main())
