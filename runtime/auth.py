"""Custom auth for the served graph (`auth` in langgraph.json): bearer JWTs, owned threads.

Active only when AUTH_JWT_SECRET is set. Unset, every request is the anonymous user with no
restrictions, so the `langgraph dev` quick start works without tokens (langgraph.json always
loads this module; the handlers then step aside).

When active:
- Every request needs `Authorization: Bearer <JWT>`, HS256-signed with AUTH_JWT_SECRET,
  with `sub` (the user id) and `exp`, and `aud` = AUTH_JWT_AUDIENCE when that is set.
  Anything else is answered 401.
- The optional claim `tools` (a list of tool names) is the user's tool permission: the select
  node offers only those tools and the executors refuse the others (runtime/identity.py).
  No `tools` claim means every tool; `"tools": []` means none.
- Threads, runs and crons carry `metadata.owner` = the user id, and every read, search, update,
  delete and run is filtered on it: another user's thread answers 404 and never shows in a list.
- Assistants (graph configurations, not user data) are readable by every user; creating,
  changing or deleting one is limited to its owner, so the built-in `agent` assistant is read-only.
- Store items live under a namespace whose first element is the user id.
"""

from __future__ import annotations

from typing import Any

import jwt
from langgraph_sdk import Auth

from runtime.settings import get_settings

auth = Auth()

ANONYMOUS: dict[str, Any] = {"identity": "anonymous", "display_name": "anonymous"}


def enabled() -> bool:
    return get_settings().auth_jwt_secret is not None


def _unauthorized(detail: str) -> Auth.exceptions.HTTPException:
    return Auth.exceptions.HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def verify_token(token: str) -> dict[str, Any]:
    """The user a valid token names, or 401. Only HS256 is accepted (no `none`, no key confusion)."""
    settings = get_settings()
    assert settings.auth_jwt_secret is not None
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.auth_jwt_secret.get_secret_value(),
            algorithms=["HS256"],
            audience=settings.auth_jwt_audience,
            options={"require": ["sub", "exp"], "verify_aud": settings.auth_jwt_audience is not None},
        )
    except jwt.PyJWTError as exc:
        raise _unauthorized(f"invalid token: {exc}") from None
    user: dict[str, Any] = {"identity": str(claims["sub"]), "display_name": str(claims.get("name") or claims["sub"])}
    tools = claims.get("tools")
    if tools is not None:
        if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
            raise _unauthorized("invalid token: the `tools` claim must be a list of tool names")
        user["tools"] = tools
    return user


@auth.authenticate
async def authenticate(authorization: str | None) -> Auth.types.MinimalUserDict:
    if not enabled():
        return ANONYMOUS  # type: ignore[return-value]
    if not authorization:
        raise _unauthorized("missing bearer token")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("expected `Authorization: Bearer <token>`")
    return verify_token(token.strip())  # type: ignore[return-value]


def _owned(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str] | None:
    """Stamp the owner on what is created and filter everything else on it."""
    if not enabled():
        return None
    owner = {"owner": ctx.user.identity}
    if isinstance(value, dict):
        metadata = value.get("metadata")
        if metadata is None:
            metadata = value["metadata"] = {}
        if isinstance(metadata, dict):
            metadata.update(owner)
    return owner


@auth.on.threads
async def threads(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str] | None:
    return _owned(ctx, value)


@auth.on.crons
async def crons(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str] | None:
    return _owned(ctx, value)


@auth.on.assistants.read
async def read_assistants(ctx: Auth.types.AuthContext, value: Any) -> None:
    return None


@auth.on.assistants.search
async def search_assistants(ctx: Auth.types.AuthContext, value: Any) -> None:
    return None


@auth.on.assistants
async def change_assistants(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str] | None:
    return _owned(ctx, value)


@auth.on.store()
async def store(ctx: Auth.types.AuthContext, value: Any) -> None:
    if not enabled():
        return None
    namespace = tuple(value.get("namespace") or ())
    if not namespace or namespace[0] != ctx.user.identity:
        raise Auth.exceptions.HTTPException(status_code=403, detail="store namespace must start with your user id")
    return None
