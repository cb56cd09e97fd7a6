"""An OpenAI-compatible chat server that answers with the scripted LM's rules.

Pointing LLM_BASE_URL at it runs the served graph over the same HTTP path as a real
model, with instant, deterministic answers: for load tests, auth tests and benchmarks.

    python -m testkit.scripted_server --port 8099
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from dspy_programs.tool_block import tools_in_system
from testkit.scripted_lm import (
    default_script,
    format_reply,
    input_fields,
    native_reply,
    native_selector_fields,
    role_of,
)
from testkit.server import free_port


def offers_tools(body: dict[str, Any]) -> bool:
    """A selector request: tools in the system message's tool block, or in `tools` (native tool calling)."""
    return bool(body.get("tools") or tools_in_system(body.get("messages", [])))


def role_and_fields(body: dict[str, Any]) -> tuple[str, dict[str, str]]:
    messages = body.get("messages", [])
    if offers_tools(body):
        return "selector", native_selector_fields(messages, body.get("tools") or [])
    system = next((str(m.get("content")) for m in messages if m.get("role") == "system"), "")
    return role_of(system), input_fields(str(messages[-1].get("content", ""))) if messages else {}


def reply_for(body: dict[str, Any]) -> str:
    role, fields = role_and_fields(body)
    outputs = default_script(role, fields)
    if not offers_tools(body):
        system = next((str(m.get("content")) for m in body.get("messages", []) if m.get("role") == "system"), "")
        return format_reply(outputs, system)
    return native_reply(outputs)


# Chat requests answered by this process, per role (selector, synthesizer, ...): tests read it to
# tell a real model call from one answered by a cache.
REQUESTS: Counter[str] = Counter()


async def chat_completions(request: Request) -> Any:
    body = await request.json()
    request.app.state.requests += 1
    if request.app.state.delay_s:  # a slow model server, for timeout tests
        await asyncio.sleep(request.app.state.delay_s)
    role, fields = role_and_fields(body)
    REQUESTS[role] += 1
    if body.get("messages"):  # the last prompts by role and input field, for tests of what a model was shown
        request.app.state.seen.append((role, fields))
        request.app.state.bodies.append(body)
    text = reply_for(body)
    rid, created, model = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), body.get("model", "scripted")
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    if body.get("stream"):

        def events() -> Iterator[str]:
            for i in range(0, len(text), 16):
                chunk = {
                    "id": rid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [{"index": 0, "delta": {"content": text[i : i + 16]}, "finish_reason": None}],
                }
                yield f"data: {json.dumps(chunk)}\n\n"
            done = {
                "id": rid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "usage": usage,
            }
            yield f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")
    return JSONResponse({
        "id": rid, "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": usage,
    })  # fmt: skip


async def models(request: Request) -> JSONResponse:
    return JSONResponse({"object": "list", "data": [{"id": "scripted", "object": "model"}]})


def build_app(delay_s: float = 0.0) -> Starlette:
    """The scripted model server; `delay_s` makes every completion answer that much later."""
    application = Starlette(routes=[Route("/v1/chat/completions", chat_completions, methods=["POST"]),
                                    Route("/v1/models", models)])  # fmt: skip
    application.state.delay_s = delay_s
    application.state.requests = 0  # chat completions received, for retry tests
    application.state.seen = collections.deque(maxlen=500)  # (role, input fields) of recent prompts
    application.state.bodies = collections.deque(maxlen=50)  # the recent requests as sent
    return application


app = build_app()


class ScriptedURL(str):
    """The server's OpenAI base URL; `.app` is the served app (`.app.state.requests` counts completions)."""

    app: Starlette


@contextmanager
def scripted_server(port: int | None = None, delay_s: float = 0.0) -> Iterator[ScriptedURL]:
    """Serve the scripted model in a background thread; yield its OpenAI base URL.

    Pass the `port` of a server stopped earlier to restart "the same" model server.
    """
    port = port or free_port()
    application = build_app(delay_s)
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the scripted model server did not start on port {port}")
        time.sleep(0.02)
    try:
        url = ScriptedURL(f"http://127.0.0.1:{port}/v1")
        url.app = application
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=5)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8099)
    uvicorn.run(app, host="127.0.0.1", port=parser.parse_args().port, log_level="warning")
