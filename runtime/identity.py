"""Who is running the graph, as the server's auth verified it (never the client's `context`).

LangGraph's API server puts the authenticated user into every run's config under
`configurable.langgraph_auth_user` (see serving/auth.py). Nodes read permissions from there,
so a client cannot widen them by sending its own `context`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config


def _config(config: RunnableConfig | None) -> RunnableConfig | None:
    if config is not None:
        return config
    try:
        return get_config()
    except RuntimeError:  # called outside a run
        return None


def current_user(config: RunnableConfig | None = None) -> Any | None:
    cfg = _config(config)
    return (cfg or {}).get("configurable", {}).get("langgraph_auth_user") if cfg else None


def claim(user: Any, name: str, default: Any = None) -> Any:
    """A field of the user object the auth handler returned, whatever wrapper the server put on it."""
    if user is None:
        return default
    if isinstance(user, Mapping):
        return user.get(name, default)
    getter = getattr(user, "get", None)
    if callable(getter):
        try:
            return getter(name, default)
        except (KeyError, TypeError):
            pass
    return getattr(user, name, default)


def user_id(config: RunnableConfig | None = None) -> str:
    cfg = _config(config)
    configurable = (cfg or {}).get("configurable", {}) if cfg else {}
    uid = configurable.get("langgraph_auth_user_id") or claim(current_user(cfg), "identity")
    return str(uid) if uid else "anonymous"


def permitted_tools(config: RunnableConfig | None = None) -> frozenset[str] | None:
    """The tools the verified user may call; None = no restriction (no user, or no `tools` claim)."""
    tools = claim(current_user(config), "tools")
    if tools is None:
        return None
    if isinstance(tools, str):
        return frozenset({tools})
    return frozenset(str(t) for t in tools)
