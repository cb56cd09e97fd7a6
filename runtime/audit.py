"""The audit log of tool calls: one JSON line per call, on the `agent.audit` logger.

Each line says who called which tool, a SHA-256 of the arguments (the arguments themselves
may be personal data and stay out of the log), whether the node cache served it, the outcome
and when. Set AUDIT_LOG_PATH to also append the lines to a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig

from runtime.identity import _config, user_id
from runtime.settings import get_settings

Outcome = Literal["ok", "error", "denied", "circuit_open"]

log = logging.getLogger("agent.audit")
log.setLevel(logging.INFO)
_file_lock = threading.Lock()
_file_path: str | None = None


def args_sha256(args: Mapping[str, Any]) -> str:
    canonical = json.dumps(args, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _ensure_file_handler() -> None:
    global _file_path
    path = get_settings().audit_log_path
    wanted = str(path) if path else None
    if wanted == _file_path:
        return
    with _file_lock:
        if wanted == _file_path:
            return
        for h in [h for h in log.handlers if getattr(h, "_agent_audit", False)]:
            log.removeHandler(h)
            h.close()
        _file_path = wanted
        if path is None:
            return
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._agent_audit = True  # type: ignore[attr-defined]
        log.addHandler(handler)


def audit_tool_call(
    tool: str,
    args: Mapping[str, Any],
    *,
    outcome: Outcome,
    cache_hit: bool = False,
    seconds: float | None = None,
    config: RunnableConfig | None = None,
) -> dict[str, Any]:
    cfg = _config(config)
    configurable = (cfg or {}).get("configurable", {}) if cfg else {}
    record = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "user": user_id(cfg),
        "tool": tool,
        "args_sha256": args_sha256(args),
        "cache_hit": cache_hit,
        "outcome": outcome,
        "seconds": seconds,
        "thread_id": configurable.get("thread_id"),
        "run_id": configurable.get("run_id"),
    }
    _ensure_file_handler()
    log.info(json.dumps(record, ensure_ascii=False, default=str))
    return record


def audit_cache_hits(
    pending: Sequence[Mapping[str, Any]], results: Sequence[Mapping[str, Any]], config: RunnableConfig | None = None
) -> int:
    """Audit the calls of this round that the node cache answered (their executor never ran).

    A cached result carries the call id of the call that filled the cache, so a pending call
    without a result of its own id, but with a result of equal name and arguments, was a hit.
    """
    ids = {r.get("call_id") for r in results}
    hits = 0
    for call in pending:
        if call.get("call_id") in ids:
            continue
        same = next((r for r in results if r.get("name") == call["name"] and r.get("args") == call["args"]), None)
        if same is not None:
            audit_tool_call(call["name"], call["args"], outcome="error" if same.get("error") else "ok",
                            cache_hit=True, config=config)  # fmt: skip
            hits += 1
    return hits
