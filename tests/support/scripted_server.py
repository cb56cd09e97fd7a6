"""An OpenAI-compatible chat server that answers with the scripted LM's rules.

Pointing LLM_BASE_URL at it runs the served graph over the same HTTP path as a real
model, with instant, deterministic answers: for load tests, auth tests and benchmarks.

    python -m tests.support.scripted_server --port 8099
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from tests.support.scripted_lm import default_script, format_reply, input_fields, role_of
from tests.support.server import free_port


def reply_for(messages: list[dict[str, Any]]) -> str:
    system = next((str(m.get("content")) for m in messages if m.get("role") == "system"), "")
    fields = input_fields(str(messages[-1].get("content", "")))
    return format_reply(default_script(role_of(system), fields))


async def chat_completions(request: Request) -> Any:
    body = await request.json()
    text = reply_for(body.get("messages", []))
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


app = Starlette(routes=[Route("/v1/chat/completions", chat_completions, methods=["POST"]),
                        Route("/v1/models", models)])  # fmt: skip


@contextmanager
def scripted_server(port: int | None = None) -> Iterator[str]:
    """Serve the scripted model in a background thread; yield its OpenAI base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8099)
    uvicorn.run(app, host="127.0.0.1", port=parser.parse_args().port, log_level="warning")
