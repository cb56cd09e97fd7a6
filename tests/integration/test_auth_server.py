"""Auth through the real server (`langgraph dev` + the scripted model server): bearer JWTs,
thread ownership, per-user tool permissions from the token, and the audit log.

Tokens are minted here with the secret the server gets through AUTH_JWT_SECRET.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from langgraph_sdk import get_client

from tests.support.scripted_server import ScriptedURL, scripted_server
from tests.support.server import langgraph_dev

SECRET = "test-secret-" + "x" * 32


def token(sub: str, ttl: float = 3600, secret: str = SECRET, **claims: Any) -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time() + ttl), **claims}, secret, algorithm="HS256")


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedURL]:
    with scripted_server() as url:
        yield url


@pytest.fixture(scope="module")
def audit_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audit") / "audit.jsonl"


@pytest.fixture(scope="module")
def server(model: ScriptedURL, audit_path: Path) -> Iterator[str]:
    env = {"LLM_BASE_URL": model, "LLM_MODEL": "scripted", "DSPY_CACHE": "false", "AUTH_JWT_SECRET": SECRET,
           "AUDIT_LOG_PATH": str(audit_path)}  # fmt: skip
    with langgraph_dev(env=env) as url:
        yield url


def client(url: str, bearer: str | None) -> Any:
    return get_client(url=url, headers={"Authorization": f"Bearer {bearer}"} if bearer else None)


def audit(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


ALICE = token("alice")
BOB = token("bob", tools=["calculator"])


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Basic YWxpY2U6cHc=",
        "Bearer not-a-jwt",
        f"Bearer {token('alice', secret='wrong-secret-' + 'y' * 32)}",
        f"Bearer {token('alice', ttl=-60)}",
        "Bearer " + jwt.encode({"sub": "alice", "exp": int(time.time()) + 60}, "", algorithm="none"),
        f"Bearer {jwt.encode({'sub': 'alice'}, SECRET, algorithm='HS256')}",  # no exp
        f"Bearer {token('alice', tools='calculator')}",  # tools must be a list
    ],
    ids=["none", "basic", "garbage", "wrong-secret", "expired", "alg-none", "no-exp", "bad-tools-claim"],
)
def test_requests_without_a_valid_token_are_refused(server: str, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = httpx.post(f"{server}/threads/search", json={}, headers=headers, timeout=10)
    assert response.status_code == 401, response.text
    assert httpx.get(f"{server}/ok", timeout=10).status_code == 200


async def test_a_thread_is_visible_and_runnable_only_by_its_owner(server: str) -> None:
    alice, bob = client(server, ALICE), client(server, BOB)
    thread = await alice.threads.create()
    tid = thread["thread_id"]
    assert thread["metadata"]["owner"] == "alice"
    await alice.runs.wait(tid, "agent", input={"messages": [{"role": "user", "content": "hello"}]},
                          context={"critique": False})  # fmt: skip
    assert (await alice.threads.get_state(tid))["values"]["answer"].startswith("Scripted answer")

    async with httpx.AsyncClient(base_url=server, headers={"Authorization": f"Bearer {BOB}"}, timeout=30) as raw:
        for method, path, body in [
            ("GET", f"/threads/{tid}", None),
            ("GET", f"/threads/{tid}/state", None),
            ("GET", f"/threads/{tid}/history", None),
            ("POST", f"/threads/{tid}/runs", {"assistant_id": "agent", "input": {"messages": []}}),
            ("POST", f"/threads/{tid}/runs/wait", {"assistant_id": "agent", "input": {"messages": []}}),
            ("PATCH", f"/threads/{tid}", {"metadata": {"owner": "bob"}}),
            ("DELETE", f"/threads/{tid}", None),
        ]:
            response = await raw.request(method, path, json=body)
            assert response.status_code in (403, 404), (method, path, response.status_code, response.text)

    bob_thread = await bob.threads.create(metadata={"owner": "alice"})  # cannot claim someone else's name
    assert bob_thread["metadata"]["owner"] == "bob"
    bob_sees = {t["thread_id"] for t in await bob.threads.search(limit=100)}
    alice_sees = {t["thread_id"] for t in await alice.threads.search(limit=100)}
    assert tid not in bob_sees and bob_thread["thread_id"] in bob_sees
    assert tid in alice_sees and bob_thread["thread_id"] not in alice_sees
    # Alice's thread is intact after Bob's attempts.
    assert (await alice.threads.get(tid))["metadata"]["owner"] == "alice"


async def test_built_in_assistant_is_readable_but_not_changeable(server: str) -> None:
    bob = client(server, BOB)
    assistants = await bob.assistants.search(graph_id="agent")
    assert assistants
    async with httpx.AsyncClient(base_url=server, headers={"Authorization": f"Bearer {BOB}"}, timeout=30) as raw:
        response = await raw.patch(f"/assistants/{assistants[0]['assistant_id']}", json={"metadata": {"x": 1}})
    assert response.status_code in (403, 404)


async def test_a_forbidden_tool_is_not_offered_not_run_and_not_audited(
    server: str, model: ScriptedURL, audit_path: Path
) -> None:
    bob = client(server, BOB)
    thread = await bob.threads.create()
    before = len(audit(audit_path))
    # The model asks for http_api anyway (`!call`); Bob's token only grants the calculator.
    # The client also tries to widen its permissions through the run context: ignored.
    question = '!call http_api{"path": "/status/billing"} and calculator{"expression": "6*7"}'
    await bob.runs.wait(thread["thread_id"], "agent", input={"messages": [{"role": "user", "content": question}]},
                        context={"critique": False, "allowed_tools": ["calculator", "http_api"]})  # fmt: skip
    values = (await bob.threads.get_state(thread["thread_id"]))["values"]
    assert [r["name"] for r in values["results"]] == ["calculator"]
    assert values["results"][0]["output"] == "42"
    assert [r["name"] for r in values["rejected_calls"]] == ["http_api"]

    offered = [f["tools"] for role, f in model.app.state.seen if role == "selector" and "6*7" in f["question"]]
    assert offered and all('"calculator"' in t and '"http_api"' not in t for t in offered)

    new = audit(audit_path)[before:]
    assert [(a["user"], a["tool"], a["outcome"], a["cache_hit"]) for a in new] == [("bob", "calculator", "ok", False)]
    assert new[0]["thread_id"] == thread["thread_id"] and len(new[0]["args_sha256"]) == 64


async def test_alice_without_a_tools_claim_may_use_every_tool(server: str, audit_path: Path) -> None:
    alice = client(server, ALICE)
    thread = await alice.threads.create()
    question = 'http_api{"path": "/status/billing"} and calculator{"expression": "1+1"}'
    await alice.runs.wait(thread["thread_id"], "agent", input={"messages": [{"role": "user", "content": question}]},
                          context={"critique": False})  # fmt: skip
    values = (await alice.threads.get_state(thread["thread_id"]))["values"]
    assert sorted(r["name"] for r in values["results"]) == ["calculator", "http_api"]
    assert all(r["error"] is None for r in values["results"]), values["results"]
    mine = [a for a in audit(audit_path) if a["thread_id"] == thread["thread_id"]]
    assert sorted((a["user"], a["tool"]) for a in mine) == [("alice", "calculator"), ("alice", "http_api")]
