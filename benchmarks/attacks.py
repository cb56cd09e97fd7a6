"""Repeat the security audit's three medium attacks against the real server; print and save each request and response.

    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.attacks [--out benchmarks/results/security-attacks.md]

Two `langgraph dev` servers on loopback, each with the scripted OpenAI-compatible model (no real
model): one with bearer tokens (users alice: every tool, bob: calculator only, carol: two tools and
then narrowed to one), one in local mode (AUTH_DISABLED=true, what `make up` sets). The attacks:
1. replaying a signed tool call: another user's (by `command.goto` and by a state update as
   `select`), a narrowed user's old one, and the owner's own in a new run;
2. one 84 MB run request (2,000 earlier messages of 30,000 characters) while `GET /ok` is timed;
3. a `text/plain` cross-origin POST to /runs/wait, and requests with a foreign `Host`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt

from testkit.scripted_server import scripted_server
from testkit.server import langgraph_dev

SECRET = "attack-secret-" + "z" * 32
UNITS = {"value": 3, "from_unit": "km", "to_unit": "m"}
OUT = Path(__file__).parent / "results" / "security-attacks.md"


def token(sub: str, **claims: Any) -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time()) + 3600, **claims}, SECRET, algorithm="HS256")


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def say(self, text: str) -> None:
        print(text, flush=True)
        self.lines.append(text)

    def exchange(self, request: str, response: httpx.Response | str) -> None:
        if isinstance(response, httpx.Response):
            body = response.text.replace("\n", " ")
            answer = f"{response.status_code} `{body[:300]}`"
        else:
            answer = response
        self.say(f"- `{request}`\n  → {answer}")


def excerpt(value: Any, n: int = 300) -> str:
    return json.dumps(value, default=str)[:n]


@contextmanager
def servers() -> Iterator[tuple[str, str]]:
    with scripted_server() as model:
        base = {"LLM_BASE_URL": model, "LLM_MODEL": "scripted", "DSPY_CACHE": "false"}
        with langgraph_dev(env={**base, "AUTH_JWT_SECRET": SECRET}) as jwt_url, \
                langgraph_dev(env={**base, "AUTH_DISABLED": "true"}) as local_url:  # fmt: skip
            yield jwt_url, local_url


def signed_call(api: httpx.Client, bearer: str) -> tuple[str, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {bearer}"}
    tid = api.post("/threads", json={}, headers=headers).json()["thread_id"]
    question = f"convert_units{json.dumps(UNITS)}"
    run = {"assistant_id": "agent", "context": {"critique": False},
           "input": {"messages": [{"role": "user", "content": question}]}}  # fmt: skip
    api.post(f"/threads/{tid}/runs/wait", headers=headers, json=run)
    values = api.get(f"/threads/{tid}/state", headers=headers).json()["values"]
    return tid, values["pending_calls"][0]


def replay(log: Log, api: httpx.Client, who: str, bearer: str, call: dict[str, Any], thread: str | None = None) -> None:
    headers = {"Authorization": f"Bearer {bearer}"}
    tid = thread or api.post("/threads", json={}, headers=headers).json()["thread_id"]
    prior = len(api.get(f"/threads/{tid}/state", headers=headers).json()["values"].get("tool_results") or [])
    goto = {"node": "run_convert_units", "input": {"call": call}}
    run = {"assistant_id": "agent", "command": {"goto": goto}, "context": {"critique": False}}
    response = api.post(f"/threads/{tid}/runs/wait", headers=headers, json=run)
    log.exchange(f"POST /threads/{{{who}'s thread}}/runs/wait as {who}, command.goto Send(run_convert_units, "
                 f"{{call: <signed call of {call['user']}, run {call['run_id'][:8]}…>}})", response)  # fmt: skip
    results = (api.get(f"/threads/{tid}/state", headers=headers).json()["values"].get("tool_results") or [])[prior:]
    log.say(f"  thread state afterwards, results: {excerpt(results)}")
    update = api.post(f"/threads/{tid}/state", headers=headers,
                      json={"values": {"pending_calls": [call], "tool_results": None},
                            "as_node": "select"})  # fmt: skip
    log.exchange(f"POST /threads/{{{who}'s thread}}/state as {who}, as_node=select, pending_calls=[<the same call>]",
                 update)  # fmt: skip
    response = api.post(f"/threads/{tid}/runs/wait", headers=headers,
                        json={"assistant_id": "agent", "input": None, "context": {"critique": False}})  # fmt: skip
    results = api.get(f"/threads/{tid}/state", headers=headers).json()["values"].get("tool_results") or []
    log.exchange(f"POST /threads/{{{who}'s thread}}/runs/wait as {who}, input=null (runs the updated state)",
                 f"{response.status_code}; results: `{excerpt(results)}`")


def attack_replays(log: Log, url: str) -> None:
    log.say("\n### 1. Replaying signed tool calls (token mode, two users)\n")
    with httpx.Client(base_url=url, timeout=120) as api:
        _, alices = signed_call(api, token("alice"))
        log.say(f"Alice ran convert_units; her signed call from her thread state: `{excerpt(alices, 400)}`\n")
        log.say("Bob (a token with every tool, so only the grant stands between him and the call):")
        replay(log, api, "bob", token("bob"), alices)
        carol_tid, carols = signed_call(api, token("carol", tools=["convert_units", "calculator"]))
        log.say("\nCarol ran convert_units with tools [convert_units, calculator]; her tools are then narrowed "
                "to [calculator] and she replays her own old call:")  # fmt: skip
        replay(log, api, "carol", token("carol", tools=["calculator"]), carols)
        log.say("\nCarol with her old permissions back replays her old call in its own thread (a new run):")
        replay(log, api, "carol", token("carol", tools=["convert_units", "calculator"]), carols, carol_tid)


def attack_big_input(log: Log, url: str) -> None:
    log.say("\n### 2. An 84 MB run request while GET /ok is timed (local mode)\n")
    earlier = [{"role": "user", "content": '"abc\n' * 6_000} for _ in range(2_000)]
    body = json.dumps({"assistant_id": "agent", "input": {"messages": [*earlier, {"role": "user", "content": "hi"}]}})
    payload = body.encode()
    latencies: list[float] = []
    stop = threading.Event()

    def watch() -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            while not stop.is_set():
                started = time.perf_counter()
                client.get("/ok")
                latencies.append(time.perf_counter() - started)
                time.sleep(0.05)

    with httpx.Client(base_url=url, timeout=120) as api:
        tid = api.post("/threads", json={}).json()["thread_id"]
        watcher = threading.Thread(target=watch)
        watcher.start()
        time.sleep(0.5)
        started = time.perf_counter()
        try:
            response: httpx.Response | str = api.post(f"/threads/{tid}/runs/wait", content=payload,
                                                      headers={"content-type": "application/json"})  # fmt: skip
        except httpx.HTTPError as exc:  # the server may answer 413 and close before the upload ends
            response = f"connection closed by the server during the upload ({type(exc).__name__})"
        elapsed = time.perf_counter() - started
        time.sleep(0.5)
        stop.set()
        watcher.join()
        log.exchange(f"POST /threads/{{tid}}/runs/wait, Content-Type: application/json, {len(payload):,} bytes "
                     "(2,000 earlier messages of 30,000 characters)", response)  # fmt: skip
        log.say(f"  answered in {elapsed:.2f} s; GET /ok during it: {len(latencies)} requests, "
                f"median {statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")
        log.exchange("GET /threads/{tid}/state afterwards", api.get(f"/threads/{tid}/state"))
        few = [{"role": "user", "content": "x" * 10} for _ in range(201)]
        log.exchange("POST /threads/{tid}/runs/wait with 201 short messages (under the byte limit)",
                     api.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "agent", "input": {"messages": few}}))


def attack_web_page(log: Log, url: str) -> None:
    log.say("\n### 3. What a web page could send to local mode\n")
    body = json.dumps({"assistant_id": "agent", "input": {"messages": [{"role": "user", "content": "hello"}]}})
    port = url.rsplit(":", 1)[1]
    with httpx.Client(base_url=url, timeout=60) as api:
        cross_site = {"Origin": "https://evil.example", "Content-Type": "text/plain"}
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        for headers in (cross_site, {"Content-Type": "text/plain"}, form):
            shown = ", ".join(f"{k}: {v}" for k, v in headers.items())
            log.exchange(f"POST /runs/wait, {shown}, a run body", api.post("/runs/wait", content=body, headers=headers))
        for method, path in (("GET", "/threads/search"), ("POST", "/threads/search"), ("GET", "/metrics"),
                             ("GET", "/ok")):  # fmt: skip
            log.exchange(f"{method} {path}, Host: rebound.evil.example:{port}",
                         api.request(method, path, json={} if method == "POST" else None,
                                     headers={"Host": f"rebound.evil.example:{port}"}))  # fmt: skip
        log.exchange("POST /threads/search, Origin: https://smith.langchain.com (Studio), JSON",
                     api.post("/threads/search", json={"limit": 1}, headers={"Origin": "https://smith.langchain.com"}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    log = Log()
    log.say("## The three medium attacks, repeated against the fixed server\n")
    log.say("`langgraph dev` on loopback with the scripted model (`python -m benchmarks.attacks`); each request "
            "as sent, each response as received (status, first 300 characters of the body).")  # fmt: skip
    with servers() as (jwt_url, local_url):
        attack_replays(log, jwt_url)
        attack_big_input(log, local_url)
        attack_web_page(log, local_url)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(log.lines) + "\n")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
