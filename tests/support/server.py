"""Start the real `langgraph dev` server for end-to-end tests, and stop it afterwards."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def langgraph_dev(
    env: dict[str, str] | None = None, timeout: float = 180.0, config: str = "langgraph.json"
) -> Iterator[str]:
    """Run `langgraph dev` on a free loopback port; yield its base URL."""
    port = free_port()
    exe = shutil.which("langgraph", path=os.path.dirname(sys.executable))
    assert exe, "langgraph CLI is not installed (pip install -e '.[serve]')"
    full_env = {**os.environ, "LANGSMITH_TRACING": "false", **(env or {})}
    full_env.setdefault("HTTP_TOOL_BASE_URL", f"http://127.0.0.1:{port}/demo-api")
    log = tempfile.NamedTemporaryFile(prefix="langgraph-dev-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [exe, "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port), "--config", config],
        cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"langgraph dev exited with {proc.returncode}:\n{Path(log.name).read_text()[-4000:]}"
                )
            try:
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"langgraph dev did not answer in {timeout}s:\n{Path(log.name).read_text()[-4000:]}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        server_log = Path(log.name).read_text(errors="replace")
        if os.environ.get("SHOW_SERVER_LOG"):
            print(server_log[-20000:])
