"""`agent-up`: bring up the whole stack on this machine.

Starts the embedded model server when no hosted model is configured (downloading and
verifying the weights on first use), then runs `langgraph dev` with the API and Studio,
offline and with no browser.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from runtime.settings import PROJECT_ROOT, get_settings
from serving.local_model import ModelFetchError, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agent-up", description=__doc__)
    parser.add_argument("--model-only", action="store_true", help="start the model server and return")
    parser.add_argument("--port", type=int, default=None, help="langgraph dev port (default LANGGRAPH_PORT or 2124)")
    args = parser.parse_args(argv)
    settings = get_settings()
    if settings.uses_local_model:
        try:
            serve(settings)
        except ModelFetchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    else:
        print("[up] using the configured hosted model; no local model server started", file=sys.stderr)
    if args.model_only:
        return 0
    langgraph = shutil.which("langgraph", path=os.path.dirname(sys.executable)) or shutil.which("langgraph")
    if langgraph is None:
        print("error: langgraph CLI not found; install with: pip install -e '.[serve]'", file=sys.stderr)
        return 1
    port = str(args.port or settings.langgraph_port)
    env = {**os.environ, "LANGSMITH_TRACING": os.environ.get("LANGSMITH_TRACING", "false")}
    if settings.auth_jwt_secret is None:
        # Local development: with no secret the server would refuse every request (fail closed);
        # `make up` opts out explicitly, and the server says so loudly at start.
        env.setdefault("AUTH_DISABLED", "true")
    print(f"[up] serving the agent at http://127.0.0.1:{port} (GET /ok, /docs; Studio via LangSmith)", file=sys.stderr)
    os.chdir(PROJECT_ROOT)
    # Several runs may overlap: with a real model most of a run is waiting on it
    # (benchmarks/results/server.md: 3.3x the runs/s at 8 clients with a 200 ms model).
    cmd = [langgraph, "dev", "--no-browser", "--host", "127.0.0.1", "--port", port, "--n-jobs-per-worker", "10"]
    os.execvpe(cmd[0], cmd, env)  # noqa: S606  (replace this process: signals go straight to the server)


if __name__ == "__main__":
    raise SystemExit(main())
