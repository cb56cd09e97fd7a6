"""With a hosted model configured, `make up`'s path reaches a served agent without building or fetching the local model.

`make up` is `make install` (dependencies from the lock; tests/unit/test_dependencies.py checks it
builds nothing) and then `agent-up`, which this test runs as installed, with LLM_BASE_URL pointing
at the scripted OpenAI-compatible server standing in for the hosted one, and the llama-server and
model folders pointing at empty directories that must stay empty.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from runtime.settings import PROJECT_ROOT
from testkit.scripted_server import ScriptedURL, scripted_server
from testkit.server import free_port


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedURL]:
    with scripted_server() as url:
        yield url


def stop(proc: subprocess.Popen[str]) -> str:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=20)
    return out


async def test_agent_up_with_a_hosted_model_serves_without_building(model: ScriptedURL, tmp_path: Path) -> None:
    # agent-up and langgraph dev apply a checkout's .env over the environment: it would replace this
    # test's settings, so its presence is a failure to fix, not a reason to pass quietly.
    assert not (PROJECT_ROOT / ".env").exists(), "move the checkout's .env away to run this test"
    llama_dir, model_dir = tmp_path / "llama-server", tmp_path / "models"
    llama_dir.mkdir()
    model_dir.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "LLM_BASE_URL": model, "LLM_MODEL": "scripted", "DSPY_CACHE": "false", "LANGSMITH_TRACING": "false",
        "LLAMA_SERVER_DIR": str(llama_dir), "MODEL_DIR": str(model_dir), "LANGGRAPH_PORT": str(port),
        # Nothing may answer where the embedded model would be: the shared one must not be what serves.
        "LOCAL_MODEL_PORT": str(free_port()),
        "HTTP_TOOL_BASE_URL": f"http://127.0.0.1:{port}/demo-api",
    }  # fmt: skip
    env.pop("LLAMA_SERVER_BIN", None)
    agent_up = shutil.which("agent-up", path=os.path.dirname(sys.executable))
    assert agent_up, "agent-up is not installed (pip install -e .)"
    started = time.monotonic()
    proc = subprocess.Popen([agent_up], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        while time.monotonic() - started < 180:
            assert proc.poll() is None, stop(proc)
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    break
            time.sleep(0.5)
        else:
            pytest.fail(f"agent-up did not serve within 180 s:\n{stop(proc)}")
        client = get_client(url=url)
        thread = await client.threads.create()
        question: dict[str, Any] = {"messages": [{"role": "user", "content": "hello"}]}
        await client.runs.wait(thread["thread_id"], "agent", input=question)
        state: Any = await client.threads.get_state(thread["thread_id"])
        await client.threads.delete(thread["thread_id"])
        assert state["values"]["answer"].startswith("Scripted answer")
    finally:
        output = stop(proc)
    assert f"[up] hosted model at {model}" in output, output
    assert "[llama-server]" not in output and "[model]" not in output, output
    assert not list(llama_dir.iterdir()) and not list(model_dir.iterdir()), "agent-up built or fetched the local model"
