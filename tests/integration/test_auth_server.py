"""Auth through the real server (`langgraph dev` + the scripted model server): bearer JWTs,
thread and assistant ownership, per-user tool permissions from the token, the audit log, and the
side doors an attacker would try (Studio's header, CORS, custom routes, `command.goto` and state
updates to executor nodes, the tool cache), with two users: alice (every tool) and bob (calculator).

Tokens are minted here with the secret and issuer the server gets through its environment.
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

from testkit.scripted_server import ScriptedURL, scripted_server
from testkit.server import langgraph_dev

SECRET = "test-secret-" + "x" * 32
ISSUER = "agent-tests"


def token(sub: str, ttl: float = 3600, secret: str = SECRET, **claims: Any) -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time() + ttl), "iss": ISSUER, **claims}, secret, algorithm="HS256")


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
           "AUTH_JWT_ISSUER": ISSUER, "AUTH_JWT_MAX_TTL_S": "7200", "AUDIT_LOG_PATH": str(audit_path)}  # fmt: skip
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
        f"Bearer {token('alice', tools=None)}",  # `"tools": null` is not "every tool"
        f"Bearer {token('alice', ttl=7200 * 10)}",  # lives longer than AUTH_JWT_MAX_TTL_S
        f"Bearer {token('alice', iat=int(time.time()) - 7200 * 10)}",  # issued too long before it expires
        "Bearer " + jwt.encode({"sub": "alice", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256"),  # no iss
        f"Bearer {token('alice', iss='someone-else')}",
    ],
    ids=["none", "basic", "garbage", "wrong-secret", "expired", "alg-none", "no-exp", "bad-tools-claim", "null-tools",
         "too-long-lived", "too-long-issued", "no-iss", "wrong-iss"],
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
    assert [r["name"] for r in values["tool_results"]] == ["calculator"]
    assert values["tool_results"][0]["output"] == "42"
    assert [r["name"] for r in values["rejected_calls"]] == ["http_api"]

    offered = [f["tools"] for role, f in model.app.state.seen if role == "selector" and "6*7" in f["question"]]
    assert offered and all('"calculator"' in t and '"http_api"' not in t for t in offered)

    new = audit(audit_path)[before:]
    assert [(a["user"], a["tool"], a["outcome"], a["cache_hit"]) for a in new] == [
        ("bob", "calculator", "started", False), ("bob", "calculator", "ok", False)]  # fmt: skip
    assert new[0]["thread_id"] == thread["thread_id"] and len(new[0]["args_sha256"]) == 64
    assert new[0]["run_id"] and new[0]["run_id"] == new[1]["run_id"]


async def test_alice_without_a_tools_claim_may_use_every_tool(server: str, audit_path: Path) -> None:
    alice = client(server, ALICE)
    thread = await alice.threads.create()
    question = 'http_api{"path": "/status/billing"} and calculator{"expression": "1+1"}'
    await alice.runs.wait(thread["thread_id"], "agent", input={"messages": [{"role": "user", "content": question}]},
                          context={"critique": False})  # fmt: skip
    values = (await alice.threads.get_state(thread["thread_id"]))["values"]
    assert sorted(r["name"] for r in values["tool_results"]) == ["calculator", "http_api"]
    assert all(r["error"] is None for r in values["tool_results"]), values["tool_results"]
    mine = [a for a in audit(audit_path) if a["thread_id"] == thread["thread_id"] and a["outcome"] != "started"]
    assert sorted((a["user"], a["tool"]) for a in mine) == [("alice", "calculator"), ("alice", "http_api")]


# --- side doors ----------------------------------------------------------------------------------

STUDIO_ORIGIN = "https://smith.langchain.com"
METRICS = token("prometheus", tools=[], metrics=True)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/threads/search", {}),
        ("POST", "/assistants/search", {}),
        ("POST", "/runs/wait", {"assistant_id": "agent", "input": {"messages": [{"role": "user", "content": "hi"}]}}),
        ("GET", "/agent/metrics", None),
    ],
)
def test_studio_header_alone_is_not_a_user(server: str, method: str, path: str, body: Any) -> None:
    # `langgraph dev` would take this header as a Studio user with every tool (no `disable_studio_auth`).
    response = httpx.request(method, f"{server}{path}", json=body, headers={"x-auth-scheme": "langsmith"}, timeout=30)
    assert response.status_code == 401, response.text


def test_cors_allows_studio_and_no_other_origin(server: str) -> None:
    def preflight(origin: str) -> httpx.Response:
        return httpx.options(f"{server}/threads/search", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"}, timeout=10)  # fmt: skip

    assert preflight(STUDIO_ORIGIN).headers.get("access-control-allow-origin") == STUDIO_ORIGIN
    evil = preflight("https://evil.example")
    assert evil.headers.get("access-control-allow-origin") not in ("*", "https://evil.example")
    simple = httpx.post(f"{server}/threads/search", json={}, timeout=10,
                        headers={"Origin": "https://evil.example", "Authorization": f"Bearer {ALICE}"})  # fmt: skip
    assert "access-control-allow-origin" not in simple.headers


def test_custom_routes_need_a_token_and_metrics_a_metrics_claim(server: str) -> None:
    def get(path: str, bearer: str | None) -> int:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        return httpx.get(f"{server}{path}", headers=headers, timeout=10).status_code

    assert get("/agent/metrics", None) == 401
    assert get("/agent/metrics", BOB) == 403  # a user's token does not show everyone's spend
    assert get("/agent/metrics", METRICS) == 200
    assert get("/demo-api/", None) == 401
    assert get("/demo-api/status/billing", BOB) == 200
    # The server's own /metrics is outside auth: the agent's series are not added to it.
    assert "agent_lm_calls_total" not in httpx.get(f"{server}/metrics", timeout=10).text


def test_the_http_tools_demo_api_token_opens_nothing_else(server: str) -> None:
    service = token("agent:http_api", scope="demo-api", tools=[])
    headers = {"Authorization": f"Bearer {service}"}
    assert httpx.get(f"{server}/demo-api/status/billing", headers=headers, timeout=10).status_code == 200
    assert httpx.post(f"{server}/threads/search", json={}, headers=headers, timeout=10).status_code == 403
    assert httpx.get(f"{server}/agent/metrics", headers=headers, timeout=10).status_code == 403


async def test_assistants_are_private_but_the_built_in_one_is_public(server: str) -> None:
    alice, bob = client(server, ALICE), client(server, BOB)
    mine = await alice.assistants.create("agent", name="alice's", metadata={"created_by": "system"})
    assert mine["metadata"]["owner"] == "alice" and mine["metadata"].get("created_by") != "system"
    alice_sees = {a["assistant_id"] for a in await alice.assistants.search(limit=100)}
    bob_sees = await bob.assistants.search(limit=100)
    assert mine["assistant_id"] in alice_sees
    assert mine["assistant_id"] not in {a["assistant_id"] for a in bob_sees}
    assert any(a["metadata"].get("created_by") == "system" for a in bob_sees)  # the built-in `agent`
    async with httpx.AsyncClient(base_url=server, headers={"Authorization": f"Bearer {BOB}"}, timeout=30) as raw:
        assert (await raw.get(f"/assistants/{mine['assistant_id']}")).status_code == 404
        run = await raw.post("/runs/wait", json={"assistant_id": mine["assistant_id"], "input": {"messages": []}})
        assert run.status_code == 404


UNITS = {"value": 3, "from_unit": "km", "to_unit": "m"}


async def _alice_fills_the_cache(server: str, bearer: str = ALICE) -> str:
    """A run of convert_units(UNITS) for the token's user (Alice by default); the thread's id."""
    user = client(server, bearer)
    thread = await user.threads.create()
    question = f"convert_units{json.dumps(UNITS)}"
    await user.runs.wait(thread["thread_id"], "agent", input={"messages": [{"role": "user", "content": question}]},
                         context={"critique": False})  # fmt: skip
    results = (await user.threads.get_state(thread["thread_id"]))["values"]["tool_results"]
    assert [(r["name"], r["error"]) for r in results] == [("convert_units", None)]
    return str(thread["thread_id"])


def _bobs_audit(audit_path: Path, before: int) -> list[tuple[str, str, bool]]:
    return [(a["tool"], a["outcome"], a["cache_hit"]) for a in audit(audit_path)[before:] if a["user"] == "bob"]


async def test_goto_an_executor_cannot_read_anothers_cached_result(server: str, audit_path: Path) -> None:
    await _alice_fills_the_cache(server)
    bob = client(server, BOB)
    call = {"call_id": "forged", "name": "convert_units", "args": UNITS, "user": "bob", "grant": "0" * 64}
    for goto in ({"node": "run_convert_units", "input": {"call": call}},  # Send with a forged call
                 {"node": "run_convert_units", "input": {"call": {k: call[k] for k in ("call_id", "name", "args")}}},
                 "run_convert_units"):  # fmt: skip
        thread = await bob.threads.create()
        before = len(audit(audit_path))
        await bob.runs.wait(thread["thread_id"], "agent", command={"goto": goto}, context={"critique": False},
                            raise_error=False)  # fmt: skip
        values = (await bob.threads.get_state(thread["thread_id"]))["values"]
        outputs = [r for r in values.get("tool_results", []) if r.get("output")]
        assert outputs == [], (goto, outputs)  # nothing of Alice's result
        assert _bobs_audit(audit_path, before) == [("convert_units", "denied", False)], goto


async def test_a_state_update_as_select_cannot_read_anothers_cached_result(server: str, audit_path: Path) -> None:
    await _alice_fills_the_cache(server)
    bob = client(server, BOB)
    thread = await bob.threads.create()
    tid = thread["thread_id"]
    await bob.runs.wait(tid, "agent", input={"messages": [{"role": "user", "content": "hello"}]},
                        context={"critique": False})  # fmt: skip
    before = len(audit(audit_path))
    pending = [{"call_id": "forged", "name": "convert_units", "args": UNITS, "user": "bob", "grant": "f" * 64}]
    await bob.threads.update_state(tid, {"pending_calls": pending, "tool_results": None}, as_node="select")
    await bob.runs.wait(tid, "agent", input=None, context={"critique": False})
    values = (await bob.threads.get_state(tid))["values"]
    assert [(r["name"], r["output"]) for r in values["tool_results"]] == [("convert_units", None)]
    assert "not permitted" in values["tool_results"][0]["error"]
    assert _bobs_audit(audit_path, before) == [("convert_units", "denied", False)]


async def test_a_cache_hit_is_audited_with_the_caller_thread_and_run(server: str, audit_path: Path) -> None:
    await _alice_fills_the_cache(server)
    before = len(audit(audit_path))
    tid = await _alice_fills_the_cache(server)
    lines = audit(audit_path)[before:]
    assert [(a["user"], a["tool"], a["outcome"], a["cache_hit"]) for a in lines] == [
        ("alice", "convert_units", "ok", True)]  # fmt: skip
    runs = await client(server, ALICE).runs.list(tid)
    assert lines[0]["thread_id"] == tid and lines[0]["run_id"] == runs[0]["run_id"]


# --- replays of signed calls: bound to user, thread, run and expiry -----------------------------------


async def _signed_call(server: str, bearer: str) -> tuple[str, dict[str, Any]]:
    """A run that calls convert_units; the signed call it left in the thread state."""
    tid = await _alice_fills_the_cache(server, bearer)
    values = (await client(server, bearer).threads.get_state(tid))["values"]
    [call] = values["pending_calls"]
    assert call["grant"] and call["thread_id"] == tid and call["run_id"] and call["expires"] > time.time()
    return tid, call


async def _replays(server: str, bearer: str, call: dict[str, Any], audit_path: Path, user: str) -> None:
    """Replay `call` as `user`: by `goto` to the executor, and by a state update as `select` (in a
    thread of theirs and, for the owner, in the thread the call was made in). Each gets no result
    (not even from the cache, which holds it) and is audited as denied."""
    caller = client(server, bearer)
    threads = [(await caller.threads.create())["thread_id"]]
    if call["user"] == user:
        threads.append(call["thread_id"])
    for tid in threads:
        for how in ("goto", "update"):
            before = len(audit(audit_path))
            if how == "goto":
                goto = {"node": "run_convert_units", "input": {"call": call}}
                await caller.runs.wait(tid, "agent", command={"goto": goto}, context={"critique": False},
                                       raise_error=False)  # fmt: skip
            else:
                await caller.threads.update_state(tid, {"pending_calls": [call], "tool_results": None},
                                                  as_node="select")  # fmt: skip
                await caller.runs.wait(tid, "agent", input=None, context={"critique": False}, raise_error=False)
            values = (await caller.threads.get_state(tid))["values"]
            # A result replaces the one with the same call id (merge_results): in the call's own
            # thread the refusal must have taken the place of the call's real result.
            mine = [r for r in values.get("tool_results") or [] if r["call_id"] == call["call_id"]]
            assert mine and all(r["output"] is None and r["error"] for r in mine), (how, mine)
            assert not any(r.get("cache_hit") for r in mine)
            lines = [(a["user"], a["tool"], a["outcome"], a["cache_hit"]) for a in audit(audit_path)[before:]]
            assert lines == [(user, "convert_units", "denied", False)], (how, lines)


async def test_another_users_signed_call_gets_neither_a_run_nor_the_cached_result(
    server: str, audit_path: Path
) -> None:
    _, alices_call = await _signed_call(server, ALICE)
    wide_bob = token("bob")  # even with every tool, Alice's signed call is not Bob's
    await _replays(server, wide_bob, alices_call, audit_path, "bob")


async def test_a_narrowed_users_old_grant_gets_neither_a_run_nor_the_cached_result(
    server: str, audit_path: Path
) -> None:
    _, carols_call = await _signed_call(server, token("carol", tools=["convert_units", "calculator"]))
    narrowed = token("carol", tools=["calculator"])
    await _replays(server, narrowed, carols_call, audit_path, "carol")
    # With her old permissions back, the old grant is still bound to its run: a new run gets nothing.
    await _replays(server, token("carol", tools=["convert_units", "calculator"]), carols_call, audit_path, "carol")


async def test_the_tools_selected_event_grants_nothing_to_another_user(server: str, audit_path: Path) -> None:
    alice = client(server, ALICE)
    tid = (await alice.threads.create())["thread_id"]
    question = f"convert_units{json.dumps(UNITS)}"
    selected = [part.data async for part in alice.runs.stream(
        tid, "agent", input={"messages": [{"role": "user", "content": question}]}, context={"critique": False},
        stream_mode="custom") if part.event == "custom" and part.data.get("event") == "tools_selected"]  # fmt: skip
    [call] = selected[0]["calls"]
    await _replays(server, token("bob"), call, audit_path, "bob")


# --- other doors ------------------------------------------------------------------------------------


async def test_another_users_thread_id_cannot_be_probed(server: str) -> None:
    alices = (await client(server, ALICE).threads.create())["thread_id"]
    headers = {"Authorization": f"Bearer {BOB}"}
    unknown = "00000000-0000-4000-8000-000000000001"
    answers = []
    for tid in (alices, unknown):  # taken by Alice, and free: the same answer
        response = httpx.post(f"{server}/threads", json={"thread_id": tid}, headers=headers, timeout=30)
        run = httpx.post(f"{server}/threads/{tid}/runs/wait", headers=headers, timeout=30,
                         json={"assistant_id": "agent", "input": None, "if_not_exists": "create"})  # fmt: skip
        answers.append((response.status_code, response.json()["detail"], run.status_code, run.json()["detail"]))
    assert answers[0] == answers[1] and answers[0][0] == 422 and answers[0][2] == 422, answers
    assert "assigned by the server" in answers[0][1]


async def test_crons_are_refused_clearly(server: str) -> None:
    alice = client(server, ALICE)
    tid = (await alice.threads.create())["thread_id"]
    async with httpx.AsyncClient(base_url=server, headers={"Authorization": f"Bearer {ALICE}"}, timeout=30) as raw:
        for path in (f"/threads/{tid}/runs/crons", "/runs/crons"):
            response = await raw.post(path, json={"assistant_id": "agent", "schedule": "* * * * *", "input": {}})
            assert response.status_code == 403, (path, response.text)
            assert "crons" in response.json()["detail"] and "not supported" in response.json()["detail"]
        assert (await raw.post("/runs/crons/search", json={})).json() == []


# --- a server with no secret and no opt-out fails closed ---------------------------------------


def test_without_a_secret_or_the_dev_opt_out_every_request_is_refused(model: ScriptedURL) -> None:
    env = {"LLM_BASE_URL": model, "LLM_MODEL": "scripted", "AUTH_DISABLED": "false"}
    with langgraph_dev(env=env) as url:
        assert httpx.get(f"{url}/ok", timeout=10).status_code == 200
        doors: list[tuple[str, str, dict[str, Any] | None]] = [
            ("POST", "/threads/search", {}), ("POST", "/assistants/search", {}),
            ("GET", "/agent/metrics", None), ("GET", "/demo-api/", None)]  # fmt: skip
        for method, path, body in doors:
            for headers in ({}, {"x-auth-scheme": "langsmith"}, {"Authorization": f"Bearer {ALICE}"}):
                response = httpx.request(method, f"{url}{path}", json=body, headers=headers, timeout=10)
                assert response.status_code == 401, (path, headers, response.text)
        # The server's own /metrics is outside auth: the agent's series are not on it in this mode.
        assert "agent_tool_cache_requests_total" not in httpx.get(f"{url}/metrics", timeout=10).text


def test_a_short_secret_fails_the_start(model: ScriptedURL) -> None:
    env = {"LLM_BASE_URL": model, "LLM_MODEL": "scripted", "AUTH_JWT_SECRET": "too-short"}
    with pytest.raises(RuntimeError, match="at least 32 bytes"), langgraph_dev(env=env, timeout=90):
        pass
