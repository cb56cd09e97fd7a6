"""Tool-call grants: the select node signs each call it offers to a user; executors accept only signed calls.

A client can reach an executor without the selector: `command.goto` / `Send` to `run_<tool>`, or a
state update as `select` with hand-written `pending_calls`. LangGraph consults the node cache
before the node runs, so a permission check inside the executor alone would let such a call read
another user's cached result. The grant closes that: it is an HMAC over (user, call id, tool,
arguments) with a server key, checked by the cache key function (an unsigned call gets a key no
entry can have, so it always misses) and again by the executor (which refuses it, audited).

The key is derived from AUTH_JWT_SECRET when set, so every worker of a deployment agrees; without
it (local development, one process) it is random per process.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from runtime.settings import get_settings

_PROCESS_KEY = secrets.token_bytes(32)


@lru_cache(maxsize=4)
def _key(secret: str | None) -> bytes:
    if secret is None:
        return _PROCESS_KEY
    return hmac.new(secret.encode(), b"agent tool-call grant v1", hashlib.sha256).digest()


def _current_key() -> bytes:
    secret = get_settings().auth_jwt_secret
    return _key(secret.get_secret_value() if secret is not None else None)


def _message(user: str, call_id: str, name: str, args: Mapping[str, Any]) -> bytes:
    return json.dumps([user, call_id, name, args], sort_keys=True, ensure_ascii=True, default=str).encode()


def sign(user: str, call_id: str, name: str, args: Mapping[str, Any]) -> str:
    return hmac.new(_current_key(), _message(user, call_id, name, args), hashlib.sha256).hexdigest()


def is_granted(call: Any) -> bool:
    """Was this call signed by the select node (for the user it names)?"""
    if not isinstance(call, Mapping):
        return False
    user, call_id, name, args, grant = (call.get(k) for k in ("user", "call_id", "name", "args", "grant"))
    if not (isinstance(user, str) and isinstance(call_id, str) and isinstance(name, str) and isinstance(grant, str)):
        return False
    if not isinstance(args, Mapping):
        return False
    try:
        expected = sign(user, call_id, name, args)
    except (TypeError, ValueError):
        return False
    return hmac.compare_digest(expected, grant)
