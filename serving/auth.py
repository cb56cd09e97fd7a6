"""Custom auth for the served graph (`auth` in langgraph.json): bearer JWTs, owned threads, fail closed.

Three modes, chosen by settings and announced by one loud log line when the server loads this module:
- AUTH_JWT_SECRET set (at least 32 bytes) and/or AUTH_JWKS_URL (an identity provider's keys,
  runtime/jwks.py): every request needs `Authorization: Bearer <JWT>`, HS256-signed with the
  secret or signed by a provider key in one of AUTH_JWT_ALGORITHMS, with `sub` and `exp`
  (lifetime at most AUTH_JWT_MAX_TTL_S), and `aud` / `iss` equal to AUTH_JWT_AUDIENCE /
  AUTH_JWT_ISSUER when those are set. Anything else is 401.
- AUTH_DISABLED=true and no secret (local development; `agent-up` sets it for `langgraph dev`):
  every request is the one local user, with every tool.
- Neither: every request is refused (401). A server deployed without a secret fails closed.

When tokens are on:
- The optional claim `tools` (a list of tool names) is the user's tool permission: the select
  node offers only those tools and the executors refuse the others (runtime/identity.py).
  No `tools` claim means every tool; `"tools": []` means none; any other value (`null` included)
  is refused (401), never read as "every tool".
- Threads, runs and crons carry `metadata.owner` = the user id, and every read, search, update,
  delete and run is filtered on it: another user's thread answers 404 and never shows in a list.
  Thread ids are the server's (serving/http_app.py refuses a client-chosen one), so a user cannot
  probe whether another user's thread exists.
- A run's input is refused (413) past MAX_INPUT_MESSAGES messages, MAX_INPUT_CHARS characters in
  all, or MAX_MESSAGE_CHARS in one message, before anything is stored, tokenized or run
  (in every mode).
- Crons are refused (403): nothing in this deployment would run them.
- Assistants are filtered the same way; the built-in ones (`created_by: system`) are readable by
  everyone and changeable by no one.
- Store items live under a namespace whose first element is the user id.
- Studio's `x-auth-scheme: langsmith` shortcut is off (`disable_studio_auth` in langgraph.json),
  and a user this module did not verify (a Studio user) is refused by every handler.
- The custom routes (`/agent/metrics`, `/demo-api`) are behind this auth too
  (`enable_custom_route_auth`); the `http_api` tool reaches the demo API with a short-lived token
  whose scope is the demo API only (`service_headers`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
from langgraph_sdk import Auth

from nodes.intake import input_problem
from runtime.authmode import ANONYMOUS, LEEWAY_S, SERVICE_PATH, SERVICE_SCOPE, announce_once, enabled, mode
from runtime.identity import claim
from runtime.jwks import verification_key
from runtime.settings import get_settings

auth = Auth()


def _unauthorized(detail: str) -> Auth.exceptions.HTTPException:
    return Auth.exceptions.HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def _forbidden(detail: str) -> Auth.exceptions.HTTPException:
    return Auth.exceptions.HTTPException(status_code=403, detail=detail)


def verify_token(token: str) -> dict[str, Any]:
    """The user a valid token names, or 401. HS256 with the secret, or a public-key algorithm with an
    AUTH_JWKS_URL key (runtime/jwks.py); no `none`, no key confusion."""
    settings = get_settings()
    required = ["sub", "exp"]
    required += ["aud"] if settings.auth_jwt_audience else []
    required += ["iss"] if settings.auth_jwt_issuer else []
    try:
        key, algorithms = verification_key(token, settings)
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=settings.auth_jwt_audience,
            issuer=settings.auth_jwt_issuer,
            leeway=LEEWAY_S,
            options={"require": required, "verify_aud": settings.auth_jwt_audience is not None},
        )
    except jwt.PyJWTError as exc:
        raise _unauthorized(f"invalid token: {exc}") from None
    # A leaked long-lived token is a standing key: cap the lifetime, both as issued and as left.
    max_ttl = settings.auth_jwt_max_ttl_s
    exp = claims["exp"]
    iat = claims.get("iat")
    if not isinstance(exp, (int, float)) or exp - time.time() > max_ttl + LEEWAY_S:
        raise _unauthorized(f"invalid token: lifetime longer than {max_ttl}s")
    if iat is not None and (not isinstance(iat, (int, float)) or exp - iat > max_ttl):
        raise _unauthorized(f"invalid token: lifetime longer than {max_ttl}s")
    user: dict[str, Any] = {
        "identity": str(claims["sub"]),
        "display_name": str(claims.get("name") or claims["sub"]),
        "auth_method": "jwt",
        "metrics": claims.get("metrics") is True,
    }
    # `scope` limits a token this server signed (the demo API's); a provider's OAuth scopes do not.
    if claims.get("scope") is not None and algorithms == ["HS256"]:
        user["scope"] = str(claims["scope"])
    if "tools" in claims:  # present means a list; `"tools": null` must not read as "no restriction"
        tools = claims["tools"]
        if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
            raise _unauthorized("invalid token: the `tools` claim must be a list of tool names")
        user["tools"] = tools
    return user


@auth.authenticate
async def authenticate(authorization: str | None, path: str) -> Auth.types.MinimalUserDict:
    current = mode()
    if current == "disabled":
        return ANONYMOUS  # type: ignore[return-value]
    if current == "unconfigured":
        raise _unauthorized("auth is not configured on this server (AUTH_JWT_SECRET and AUTH_JWKS_URL are unset)")
    if not authorization:
        raise _unauthorized("missing bearer token")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("expected `Authorization: Bearer <token>`")
    # In a worker thread: a JWKS key may have to be fetched (a blocking request, runtime/jwks.py).
    user = await asyncio.to_thread(verify_token, token.strip())
    scope = user.get("scope")
    on_demo_api = path == SERVICE_PATH or path.startswith(SERVICE_PATH + "/")
    if scope is not None and not (scope == SERVICE_SCOPE and on_demo_api):
        raise _forbidden("this token is valid for the demo API only")
    return user  # type: ignore[return-value]


def _verified(ctx: Auth.types.AuthContext) -> str | None:
    """The user id to filter on, or None when tokens are off. Refuses any user this module did not
    verify (a Studio user from the `x-auth-scheme: langsmith` path, were it ever turned back on)."""
    if not enabled():
        return None
    if claim(ctx.user, "auth_method") != "jwt":
        raise _forbidden("only bearer-token users may use this server")
    return str(ctx.user.identity)


def _owned(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str] | None:
    """Stamp the owner on what is created and filter everything else on it."""
    uid = _verified(ctx)
    if uid is None:
        return None
    owner = {"owner": uid}
    if isinstance(value, dict):
        metadata = value.get("metadata")
        if metadata is None:
            metadata = value["metadata"] = {}
        if isinstance(metadata, dict):
            metadata.update(owner)
            if metadata.get("created_by") == "system":  # a user cannot make their assistant public
                del metadata["created_by"]
    return owner


@auth.on.threads
async def threads(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str] | None:
    return _owned(ctx, value)


@auth.on.threads.create_run
async def create_run(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str] | None:
    """A run on an owned thread, whose input is within the limits (checked by length only)."""
    owner = _owned(ctx, value)
    kwargs = value.get("kwargs") if isinstance(value, dict) else None
    run_input = kwargs.get("input") if isinstance(kwargs, dict) else None
    problem = input_problem(run_input["messages"]) if isinstance(run_input, dict) and "messages" in run_input else None
    if problem:
        raise Auth.exceptions.HTTPException(status_code=413, detail=problem)
    return owner


@auth.on.crons.create
async def create_cron(ctx: Auth.types.AuthContext, value: Any) -> None:
    # langgraph dev and this template's self-hosting have no scheduler: a cron would be stored and
    # never run (and log an error every minute). Refused, so no one thinks it is scheduled.
    raise _forbidden("scheduled runs (crons) are not supported by this server; run on your own schedule instead")


@auth.on.crons
async def crons(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str] | None:
    return _owned(ctx, value)


async def _own_or_built_in(ctx: Auth.types.AuthContext, value: Any) -> dict[str, Any] | None:
    uid = _verified(ctx)
    if uid is None:
        return None
    return {"$or": [{"owner": uid}, {"created_by": "system"}]}


@auth.on.assistants.read
async def read_assistants(ctx: Auth.types.AuthContext, value: Any) -> dict[str, Any] | None:
    return await _own_or_built_in(ctx, value)


@auth.on.assistants.search
async def search_assistants(ctx: Auth.types.AuthContext, value: Any) -> dict[str, Any] | None:
    return await _own_or_built_in(ctx, value)


@auth.on.assistants
async def change_assistants(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str] | None:
    return _owned(ctx, value)


@auth.on.store()
async def store(ctx: Auth.types.AuthContext, value: Any) -> None:
    uid = _verified(ctx)
    if uid is None:
        return None
    namespace = tuple(value.get("namespace") or ())
    if not namespace or namespace[0] != uid:
        raise _forbidden("store namespace must start with your user id")
    return None


announce_once()
