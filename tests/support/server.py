"""Start the real `langgraph dev` server for end-to-end tests, and stop it afterwards."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DevURL(str):
    """The server's base URL; `.pid` is the `langgraph dev` process (the root of its process tree)."""

    pid: int


@contextmanager
def langgraph_dev(
    env: dict[str, str] | None = None,
    timeout: float = 180.0,
    config: str = "langgraph.json",
    extra_args: Sequence[str] = (),
) -> Iterator[DevURL]:
    """Run `langgraph dev` on a free loopback port; yield its base URL.

    `extra_args` go to the command line, e.g. ("--n-jobs-per-worker", "16"): the server pins
    N_JOBS_PER_WORKER to that flag (default 1 run at a time), whatever the environment says.
    """
    port = free_port()
    exe = shutil.which("langgraph", path=os.path.dirname(sys.executable))
    assert exe, "langgraph CLI is not installed (pip install -e '.[serve]')"
    full_env = {**os.environ, "LANGSMITH_TRACING": "false", **(env or {})}
    full_env.setdefault("HTTP_TOOL_BASE_URL", f"http://127.0.0.1:{port}/demo-api")
    log = tempfile.NamedTemporaryFile(prefix="langgraph-dev-", suffix=".log", delete=False)  # noqa: SIM115
    # The in-memory server otherwise pickles every thread into ./.langgraph_api and loads it all
    # back at the next start: test servers would inherit each other's threads and grow without
    # bound (1.7 GB, 3.3 GB RSS at start, was seen). A sibling config turns file persistence off.
    test_config = ROOT / f".langgraph-test-{port}.json"
    test_config.write_text(json.dumps({**json.loads((ROOT / config).read_text()), "disable_persistence": True}))
    proc = subprocess.Popen(
        [exe, "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port),
         "--config", test_config.name, *extra_args],
        cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = DevURL(f"http://127.0.0.1:{port}")
    url.pid = proc.pid
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
        test_config.unlink(missing_ok=True)
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        server_log = Path(log.name).read_text(errors="replace")
        if os.environ.get("SHOW_SERVER_LOG"):
            print(server_log[-20000:])
