"""Turning a model-supplied API path into a URL that can only reach the configured API.

The path comes from an LLM, which may have read attacker-written text, so it is validated
twice: syntactically (a strict character whitelist and no escape sequences), and semantically
(the joined URL must still point at an allowed host, under the base URL's path).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import urlsplit

from tools.errors import ToolInputError

MAX_PATH_CHARS: Final = 200
ALLOWED_SCHEMES: Final = frozenset({"http", "https"})

_PATH: Final = re.compile(r"/[A-Za-z0-9/_\-.]*")
# Each of these can change which host or resource a URL names, whatever the whitelist says.
_FORBIDDEN: Final = ("..", "//", "://", "@", "?", "#", "\\")


def validate_path(path: str) -> str:
    """Return the path with any trailing slash dropped, or raise ToolInputError."""
    if not isinstance(path, str) or not path:
        raise ToolInputError("path is empty; use e.g. /orders/A1001")
    if len(path) > MAX_PATH_CHARS:
        raise ToolInputError(f"path too long (limit {MAX_PATH_CHARS} characters)")
    if not path.startswith("/"):
        raise ToolInputError("path must start with '/', e.g. /orders/A1001")
    for token in _FORBIDDEN:
        if token in path:
            raise ToolInputError(f"path may not contain {token!r}")
    if not _PATH.fullmatch(path):
        raise ToolInputError("path may only contain letters, digits, '/', '_', '-' and '.'")
    if any(segment == "." for segment in path.split("/")):
        raise ToolInputError("path may not contain '.' segments")
    # The demo API answers "/orders/A1001/" with a redirect, which is never followed.
    return path.rstrip("/") or "/"


def build_url(path: str, base_url: str, allowed_hosts: Iterable[str]) -> str:
    """Join a validated path onto the base URL and prove the result stays on an allowed host."""
    clean = validate_path(path)
    base = base_url.rstrip("/")
    url = base + clean
    try:
        parts, base_parts = urlsplit(url), urlsplit(base)
        host, _port = parts.hostname, parts.port
    except ValueError:
        raise ToolInputError("the API base URL is malformed") from None
    allowed = {h.strip().lower() for h in allowed_hosts}
    if parts.scheme not in ALLOWED_SCHEMES:
        raise ToolInputError(f"scheme {parts.scheme!r} is not allowed")
    if parts.username is not None or parts.password is not None:
        raise ToolInputError("credentials in the URL are not allowed")
    if not host or host.lower() not in allowed:
        raise ToolInputError(f"host {host!r} is not in the allowed hosts")
    if (parts.netloc, parts.scheme) != (base_parts.netloc, base_parts.scheme) or not parts.path.startswith(
        base_parts.path
    ):
        raise ToolInputError("path escapes the API base URL")
    if parts.query or parts.fragment:
        raise ToolInputError("query strings and fragments are not allowed")
    return url
