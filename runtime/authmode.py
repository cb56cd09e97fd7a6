"""Which auth mode the server is in, said once at start, and the `http_api` tool's demo-API token.

Kept apart from serving/auth.py because the server loads that file by path (as a module of its
own), while tools and routes import this one normally: the mode is announced exactly once.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal
from urllib.parse import urlsplit

import jwt

from runtime.settings import Settings, get_settings

log = logging.getLogger("agent.auth")

Mode = Literal["jwt", "disabled", "unconfigured"]
ANONYMOUS: dict[str, Any] = {"identity": "anonymous", "display_name": "anonymous", "auth_method": "disabled"}
# Claims of the token the `http_api` tool presents to the demo API: valid for that mount only.
SERVICE_SCOPE = "demo-api"
SERVICE_PATH = "/demo-api"
SERVICE_TTL_S = 60
LEEWAY_S = 30


def mode(settings: Settings | None = None) -> Mode:
    s = settings or get_settings()
    if s.auth_jwt_secret is not None or s.auth_jwks_url:
        return "jwt"
    return "disabled" if s.auth_disabled else "unconfigured"


def enabled() -> bool:
    """Are tokens checked (and ownership enforced)?"""
    return mode() == "jwt"


_announced = False


def announce_once(settings: Settings | None = None) -> Mode:
    """Log, once per process, which mode the server is in: loud unless tokens are on."""
    global _announced
    current = mode(settings)
    if _announced:
        return current
    _announced = True
    if current == "disabled":
        log.warning("AUTH DISABLED (AUTH_DISABLED=true, no AUTH_JWT_SECRET): every request is the local user "
                    "with every tool. For local development only; never deploy this.")  # fmt: skip
    elif current == "unconfigured":
        log.error("AUTH NOT CONFIGURED: AUTH_JWT_SECRET is not set, so every request will be refused (401). "
                  "Set AUTH_JWT_SECRET (32+ bytes), or AUTH_DISABLED=true for local development.")  # fmt: skip
    else:
        s = settings or get_settings()
        kinds = [k for k, on in (("HS256", s.auth_jwt_secret is not None), ("JWKS", bool(s.auth_jwks_url))) if on]
        log.info("auth: bearer JWTs (%s) required on every route", " or ".join(kinds))
    return current


def mint(sub: str, ttl_s: int, settings: Settings | None = None, **claims: Any) -> str:
    """An HS256 token for `sub`, valid `ttl_s` seconds, with the audience and issuer the server checks."""
    s = settings or get_settings()
    if s.auth_jwt_secret is None:
        raise ValueError("AUTH_JWT_SECRET is not set")
    now = int(time.time())
    body: dict[str, Any] = {"sub": sub, **claims, "iat": now, "exp": now + ttl_s}
    if s.auth_jwt_audience:
        body["aud"] = s.auth_jwt_audience
    if s.auth_jwt_issuer:
        body["iss"] = s.auth_jwt_issuer
    return jwt.encode(body, s.auth_jwt_secret.get_secret_value(), algorithm="HS256")


def service_token(settings: Settings | None = None) -> str:
    """A short-lived token for the demo API mount only, no tools (what the `http_api` tool presents)."""
    return mint("agent:http_api", SERVICE_TTL_S, settings, scope=SERVICE_SCOPE, tools=[])


def service_headers(url: str, settings: Settings | None = None) -> dict[str, str]:
    """Headers for a request of the `http_api` tool: a demo-API token when `url` is this server's
    demo API (HTTP_TOOL_BASE_URL ending in /demo-api) and tokens are on; nothing otherwise, so no
    token ever leaves for another API."""
    s = settings or get_settings()
    if mode(s) != "jwt" or s.auth_jwt_secret is None:  # with JWKS only, this server cannot sign a token
        return {}
    base = s.http_tool_base_url.rstrip("/")
    if not urlsplit(base).path.endswith(SERVICE_PATH) or not (url == base or url.startswith(base + "/")):
        return {}
    return {"Authorization": f"Bearer {service_token(s)}"}
