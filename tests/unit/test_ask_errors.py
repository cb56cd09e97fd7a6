"""`ask` fails in one line that says what to do, with a non-zero exit and no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from serving.cli import refusal, run_failure
from testkit.server import ROOT, free_port


def run_ask(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_", "OPENAI_", "LOCAL_MODEL", "LANGGRAPH"))}
    full = {**clean, "PYTHONPATH": str(ROOT), "LANGGRAPH_URL": f"http://127.0.0.1:{free_port()}", **env}
    # From an empty directory: no .env is read.
    return subprocess.run([sys.executable, "-m", "serving.cli", "What is 2+2?"], cwd=tmp_path, env=full,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_no_embedded_model_server_says_how_to_start_one(tmp_path: Path) -> None:
    done = run_ask(tmp_path, LOCAL_MODEL_PORT=str(free_port()))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("ask: no model server answers at http://127.0.0.1:")
    assert "agent-up --model-only" in done.stderr and "LLM_BASE_URL" in done.stderr


def test_a_dead_hosted_endpoint_names_the_setting(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{free_port()}/v1"
    done = run_ask(tmp_path, LLM_BASE_URL=base, LLM_MODEL="m")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    said = f"ask: no model server answers at {base} (LLM_BASE_URL): start that server or correct LLM_BASE_URL\n"
    assert done.stderr == said


def test_an_invalid_setting_is_one_line(tmp_path: Path) -> None:
    done = run_ask(tmp_path, AUTH_JWT_SECRET="short", LOCAL_MODEL_PORT=str(free_port()))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr == "ask: AUTH_JWT_SECRET must be at least 32 bytes (e.g. `openssl rand -hex 32`)\n"


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [(401, {"detail": "missing bearer token"}, "(401: missing bearer token); pass --token or set AGENT_TOKEN"),
     (403, {"detail": "only bearer-token users"}, "(403: only bearer-token users)")],
)  # fmt: skip
def test_a_refused_request_is_explained(status: int, body: dict[str, str], says: str) -> None:
    request = httpx.Request("POST", "http://srv/threads")
    exc = httpx.HTTPStatusError("refused", request=request, response=httpx.Response(status, json=body, request=request))
    line = refusal(exc, "http://srv")
    assert line.startswith("the server at http://srv refused the request") and says in line


def test_a_run_that_lost_its_model_says_so() -> None:
    line = run_failure({"error": "LMTransportError", "message": "[openai/x] failed to connect to 127.0.0.1:8080"})
    assert "the server's model server does not answer" in line and "agent-up --model-only" in line
    assert "model server" not in run_failure({"error": "ValueError", "message": "bad context"})


def test_selfhost_without_a_model_server_says_how_to_start_one(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_", "OPENAI_", "LOCAL_MODEL"))}
    env = {**clean, "PYTHONPATH": str(ROOT), "LOCAL_MODEL_PORT": str(free_port())}
    done = subprocess.run([sys.executable, "-m", "serving.selfhost", "--dsn", "postgresql://127.0.0.1:1/x",
                           "--thread", "t", "What is 2+2?"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("selfhost: no model server answers at http://127.0.0.1:")
