"""`agent-up`: bring up the whole stack on this machine.

With no hosted model configured, starts the embedded model server first (building `llama-server`
and downloading the verified weights on first use) and warms its prompt cache (serving/warm.py);
with `OPENAI_API_KEY` or `LLM_BASE_URL` set (environment or `.env`), builds and downloads nothing.
Then runs `langgraph dev` with the API and Studio, with no browser.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from dotenv import dotenv_values

from runtime.settings import PROJECT_ROOT, get_settings
from serving.llama_server import BuildError
from serving.local_model import ModelFetchError, serve
from serving.warm import warm_prompt_cache


def apply_env_file(path: Path) -> list[str]:
    """Put the file's settings into this process's environment, over what is exported; return the names overridden.

    `langgraph dev` does the same with langgraph.json's `"env": ".env"` (langgraph_api.cli.run_server
    patches os.environ with the file's values), so agent-up decides local-or-hosted from the values
    the server will see.
    """
    overridden = []
    for name, value in dotenv_values(path).items():
        if value is None:
            continue
        if name in os.environ and os.environ[name] != value:
            overridden.append(name)
        os.environ[name] = value
    return overridden


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agent-up", description=__doc__)
    parser.add_argument("--model-only", action="store_true", help="start the embedded model server and return")
    parser.add_argument("--port", type=int, default=None, help="langgraph dev port (default LANGGRAPH_PORT or 2124)")
    args = parser.parse_args(argv)
    os.chdir(PROJECT_ROOT)
    if not args.model_only:
        for name in apply_env_file(PROJECT_ROOT / ".env"):
            print(f"[up] {name}: .env's value replaces the exported one (langgraph dev applies .env)", file=sys.stderr)
    get_settings.cache_clear()
    settings = get_settings()
    if settings.uses_local_model:
        try:
            started = serve(settings)
        except (ModelFetchError, BuildError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        if started is not None:  # a server already answering has served questions: its cache is warm
            warm_prompt_cache(settings)
    else:
        endpoint = settings.llm_base_url or "OpenAI (OPENAI_API_KEY)"
        print(f"[up] hosted model at {endpoint}: the embedded model is not built, downloaded or started",
              file=sys.stderr)  # fmt: skip
    if args.model_only:
        return 0
    langgraph = shutil.which("langgraph", path=os.path.dirname(sys.executable)) or shutil.which("langgraph")
    if langgraph is None:
        print("error: langgraph CLI not found; install with: pip install -e '.[serve]'", file=sys.stderr)
        return 1
    port = str(args.port or settings.langgraph_port)
    # Tracing is the user's setting (LANGSMITH_TRACING / LANGSMITH_API_KEY, environment or .env): docs/tokens.md.
    env = dict(os.environ)
    if settings.auth_jwt_secret is None:
        # Local development: with no secret the server would refuse every request (fail closed);
        # `make up` opts out explicitly, and the server says so loudly at start.
        env.setdefault("AUTH_DISABLED", "true")
    print(f"[up] serving the agent at http://127.0.0.1:{port} (GET /ok, /docs; Studio via LangSmith)", file=sys.stderr)
    # Several runs may overlap: with a real model most of a run is waiting on it (benchmarks/results/server.md).
    cmd = [langgraph, "dev", "--no-browser", "--host", "127.0.0.1", "--port", port, "--n-jobs-per-worker", "10"]
    os.execvpe(cmd[0], cmd, env)  # noqa: S606  (replace this process: signals go straight to the server)


if __name__ == "__main__":
    raise SystemExit(main())
