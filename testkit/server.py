"""Start the real `langgraph dev` server for end-to-end tests, and stop it afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def absolute_config(path: Path) -> dict[str, Any]:
    """langgraph.json with every file path made absolute, to serve it from another directory."""
    config: dict[str, Any] = json.loads(path.read_text())
    base = path.parent

    def absolute(spec: str) -> str:
        file, sep, attr = spec.partition(":")
        return str((base / file).resolve()) + sep + attr

    config["dependencies"] = [str((base / d).resolve()) for d in config.get("dependencies", [])]
    config["graphs"] = {name: absolute(spec) for name, spec in config.get("graphs", {}).items()}
    if isinstance(config.get("auth"), dict) and config["auth"].get("path"):
        config["auth"]["path"] = absolute(config["auth"]["path"])
    if isinstance(config.get("http"), dict) and config["http"].get("app"):
        config["http"]["app"] = absolute(config["http"]["app"])
    return config


class DevURL(str):
    """The server's base URL; `.pid` is the `langgraph dev` process (the root of its process tree)."""

    pid: int


@contextmanager
def serve_app(app: Any, *, lifespan: Literal["auto", "on", "off"] = "auto", join_s: float = 5.0) -> Iterator[int]:
    """Serve an ASGI app with uvicorn on a free loopback port in a background thread; yield the port."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=join_s)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server's process group: SIGTERM, then SIGKILL after 15 s. A group that is already
    gone (a server that refused to start, or exited between the two signals) is not an error."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


@contextmanager
def langgraph_dev(
    env: dict[str, str] | None = None,
    timeout: float = 180.0,
    config: str = "langgraph.json",
    extra_args: Sequence[str] = (),
    launcher: Sequence[str] | None = None,
) -> Iterator[DevURL]:
    """Run `langgraph dev` on a free loopback port; yield its base URL.

    `extra_args` go to the command line, e.g. ("--n-jobs-per-worker", "16"): the server pins
    N_JOBS_PER_WORKER to that flag (default 1 run at a time), whatever the environment says.
    `launcher` replaces the `langgraph` executable (e.g. a script that patches the server and then
    runs langgraph's CLI); `config` may be another checkout's langgraph.json (an absolute path).
    """
    port = free_port()
    if launcher is None:
        exe = shutil.which("langgraph", path=os.path.dirname(sys.executable))
        assert exe, "langgraph CLI is not installed (pip install -e '.[serve]')"
        launcher = [exe]
    full_env = {**os.environ, "LANGSMITH_TRACING": "false", **(env or {})}
    full_env.setdefault("HTTP_TOOL_BASE_URL", f"http://127.0.0.1:{port}/demo-api")
    # Without a secret the server refuses every request (serving/auth.py); a test server without
    # one is a local development server, so it opts out the way `agent-up` does.
    if "AUTH_JWT_SECRET" not in full_env:
        full_env.setdefault("AUTH_DISABLED", "true")
    log = tempfile.NamedTemporaryFile(prefix="langgraph-dev-", suffix=".log", delete=False)  # noqa: SIM115
    # The in-memory server pickles every thread into ./.langgraph_api and loads it all back at the
    # next start (langgraph-cli drops `disable_persistence` from the config): run from the project
    # directory, test servers would inherit each other's threads and grow without bound (a 1.7 GB
    # .langgraph_api, 3.2 GB RSS at start, was seen). So each server runs in a fresh directory,
    # with the config's paths made absolute, and starts empty; `.env` is not read either.
    workdir = tempfile.TemporaryDirectory(prefix="langgraph-dev-")
    (Path(workdir.name) / "langgraph.json").write_text(json.dumps(absolute_config(ROOT / config)))
    proc = subprocess.Popen(
        [*launcher, "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port), *extra_args],
        cwd=workdir.name, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
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
        _stop_group(proc)
        server_log = Path(log.name).read_text(errors="replace")
        if os.environ.get("SHOW_SERVER_LOG"):
            print(server_log[-20000:])
        workdir.cleanup()
