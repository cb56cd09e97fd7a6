"""The audit log of tool calls: one JSON line per call, on the `agent.audit` logger.

Each line says who called which tool, in which thread and run, a SHA-256 of the arguments (the
arguments themselves may be personal data and stay out of the log), whether the tool cache
served it, the outcome and when. A call that runs the tool gets two lines: `started` before the
tool is touched (so a call that never returns still left a record) and its outcome after (`ok`,
`error`, or `cancelled`). Set AUDIT_LOG_PATH to also append the lines to a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import logging.handlers
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig

from runtime.grants import Caller
from runtime.identity import _config, user_id
from runtime.settings import get_settings

Outcome = Literal["started", "ok", "error", "cancelled", "denied", "circuit_open", "rate_limited"]

log = logging.getLogger("agent.audit")
log.setLevel(logging.INFO)
_file_lock = threading.Lock()
_file_path: str | None = None


def args_sha256(args: Mapping[str, Any]) -> str:
    canonical = json.dumps(args, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def open_audit_log() -> None:
    """Attach the AUDIT_LOG_PATH file (if set) to the audit logger; raises if it cannot be opened.

    Called when the graph module loads, so a bad path fails the server's start instead of the
    first run. The file is a WatchedFileHandler: when logrotate moves or deletes it, the next line
    reopens the path (no `copytruncate` needed, no line lost to a stale descriptor).
    """
    global _file_path
    path = get_settings().audit_log_path
    wanted = str(path) if path else None
    if wanted == _file_path:
        return
    with _file_lock:
        if wanted == _file_path:
            return
        # Open the new file before dropping the old one: a failure leaves auditing as it was and raises.
        handler = None
        if path is not None:
            handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(message)s"))
            handler._agent_audit = True  # type: ignore[attr-defined]
        for old in [h for h in log.handlers if getattr(h, "_agent_audit", False)]:
            log.removeHandler(old)
            old.close()
        if handler is not None:
            log.addHandler(handler)
        _file_path = wanted


def audit_tool_call(
    tool: str,
    args: Mapping[str, Any],
    *,
    outcome: Outcome,
    cache_hit: bool = False,
    seconds: float | None = None,
    config: RunnableConfig | None = None,
    caller: Caller | None = None,
) -> dict[str, Any]:
    """Log one tool call for `caller` (the executor passes it), else for the run's user."""
    cfg = _config(config)
    configurable = (cfg or {}).get("configurable", {}) if cfg else {}
    record = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "user": caller.user if caller is not None else user_id(cfg),
        "tool": tool,
        "args_sha256": args_sha256(args),
        "cache_hit": cache_hit,
        "outcome": outcome,
        "seconds": seconds,
        "thread_id": caller.thread_id if caller is not None else configurable.get("thread_id"),
        "run_id": caller.run_id if caller is not None else configurable.get("run_id"),
    }
    open_audit_log()
    # ensure_ascii: a subject with U+2028 or U+0085 must not split the line for line-based readers.
    log.info(json.dumps(record, ensure_ascii=True, default=str))
    return record
