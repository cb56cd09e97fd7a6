"""Tool-call grants: the select node signs each call it offers; every executor call, cached or not, passes `refusal`.

A client can reach an executor without the selector: `command.goto` / `Send` to `run_<tool>`, or a
state update as `select` with hand-written or replayed `pending_calls`. A signed call is also
visible to its user (thread state, the `tools_selected` stream event), so a signature alone would
be a bearer capability. A grant is therefore an HMAC, with a server key, over the call (id, tool,
arguments) *and* who may use it where: the user, the thread, the run, and an expiry
TOOL_GRANT_TTL_S after it was issued. `refusal` is the one check an executor makes before it
reads the tool cache or runs the tool: the caller's current permissions, the signature, the
binding to this caller, thread and run, and the expiry. A replay in another run, by another
user, after the user's tools were narrowed, or after the expiry gets neither a cached result nor
a run.

The key is derived from AUTH_JWT_SECRET when set, so every worker of a deployment agrees; without
it (local development, one process) it is random per process.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from langchain_core.runnables import RunnableConfig

from runtime.identity import _config, permitted_tools, user_id
from runtime.settings import get_settings

_PROCESS_KEY = secrets.token_bytes(32)


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the server verified it, and where: the run a grant is bound to."""

    user: str
    tools: frozenset[str] | None = None  # None: every tool
    thread_id: str | None = None
    run_id: str | None = None

    def may_use(self, tool: str) -> bool:
        return self.tools is None or tool in self.tools


def current_caller(config: RunnableConfig | None = None) -> Caller:
    """The verified user of the current run, their tool permissions now, and the thread and run."""
    cfg = _config(config) or {}
    configurable = cfg.get("configurable", {})
    metadata = cfg.get("metadata", {})
    run_id = cfg.get("run_id") or configurable.get("run_id") or metadata.get("run_id")
    try:  # LangGraph's own record of the run, inside a node
        from langgraph.runtime import get_runtime

        info = getattr(get_runtime(), "execution_info", None)
        if info is not None and info.run_id:
            run_id = info.run_id
    except RuntimeError:  # outside a run
        pass
    thread = configurable.get("thread_id")
    return Caller(user=user_id(cfg), tools=permitted_tools(cfg), thread_id=str(thread) if thread else None,
                  run_id=str(run_id) if run_id else None)  # fmt: skip


@lru_cache(maxsize=4)
def _key(secret: str | None) -> bytes:
    if secret is None:
        return _PROCESS_KEY
    return hmac.new(secret.encode(), b"agent tool-call grant v2", hashlib.sha256).digest()


def _current_key() -> bytes:
    secret = get_settings().auth_jwt_secret
    return _key(secret.get_secret_value() if secret is not None else None)


_BOUND = ("user", "thread_id", "run_id", "expires", "call_id", "name", "args")


def _signature(fields: Mapping[str, Any]) -> str:
    message = json.dumps([fields.get(k) for k in _BOUND], sort_keys=True, ensure_ascii=True, default=str).encode()
    return hmac.new(_current_key(), message, hashlib.sha256).hexdigest()


def grant(caller: Caller, call_id: str, name: str, args: Mapping[str, Any], now: float | None = None) -> dict[str, Any]:
    """The fields that make `name(args)` a call `caller` may run in this thread and run, until it expires."""
    expires = int((time.time() if now is None else now) + get_settings().tool_grant_ttl_s)
    fields: dict[str, Any] = {"call_id": call_id, "name": name, "args": dict(args), "user": caller.user,
                              "thread_id": caller.thread_id, "run_id": caller.run_id, "expires": expires}  # fmt: skip
    return {**fields, "grant": _signature(fields)}


def refusal(call: Any, tool: str, caller: Caller, now: float | None = None) -> str | None:
    """Why `caller` may not have `call` of `tool` (run or served from the cache); None when they may.

    Checked in this order, so the message names the first reason: the caller's current tool
    permissions, the call's shape, the signature, the binding to this user, thread and run, and
    the expiry.
    """
    if not caller.may_use(tool):
        return f"{tool} is not permitted for this user"
    not_offered = f"{tool}: this call was not offered to this user in this run by the selector"
    if not isinstance(call, Mapping) or call.get("name") != tool or not isinstance(call.get("args"), Mapping):
        return not_offered
    if not all(isinstance(call.get(k), str) for k in ("call_id", "user", "grant")):
        return not_offered
    try:
        expected = _signature(call)
    except (TypeError, ValueError):
        return not_offered
    if not hmac.compare_digest(expected, str(call["grant"])):
        return not_offered
    if (call.get("user"), call.get("thread_id"), call.get("run_id")) != (caller.user, caller.thread_id, caller.run_id):
        return not_offered
    expires = call.get("expires")
    if not isinstance(expires, int) or (time.time() if now is None else now) >= expires:
        return f"{tool}: this call's grant has expired; ask again"
    return None
