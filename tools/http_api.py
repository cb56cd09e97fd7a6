"""The `http_api` tool: read-only GETs against the company REST API.

Sync and async variants share every check; only the transport loop differs. The host, timeout
and base URL come from settings at call time, so a test or deployment can repoint the tool
without re-importing it.
"""

from __future__ import annotations

import json
from typing import Final

import httpx
from pydantic import BaseModel, Field

from runtime.authmode import service_headers
from runtime.settings import get_settings
from tools.checked_tool import CheckedTool
from tools.errors import ToolInputError, ToolUnavailableError
from tools.http_url import MAX_PATH_CHARS, build_url

MAX_RESPONSE_BYTES: Final = 1_000_000
# identity: the 1 MB cap counts decoded bytes, so a small gzip body cannot balloon past it unseen.
_HEADERS: Final = {"Accept": "application/json", "Accept-Encoding": "identity"}


class HttpApiArgs(BaseModel):
    path: str = Field(
        description=(
            "Path on the company REST API, e.g. /orders/A1001, /inventory/NW-ARM-200, /status/billing. "
            "'/' lists the endpoints. Letters, digits, '/', '_', '-' and '.' only; no query strings."
        ),
        max_length=MAX_PATH_CHARS,
    )


def _target(path: str) -> tuple[str, float, dict[str, str]]:
    settings = get_settings()
    url = build_url(path, settings.http_tool_base_url, settings.http_tool_allowed_hosts)
    # The demo API is behind the server's auth: the tool presents a token valid for it alone.
    return url, settings.tool_timeout_s, service_headers(url, settings)


def _check_status(response: httpx.Response, path: str) -> None:
    status = response.status_code
    if status == 404:
        raise ToolInputError(f"not found: {path}")
    if 300 <= status < 400:
        raise ToolInputError(f"the API answered {path} with a redirect ({status}); redirects are not followed")
    if status >= 500:
        raise ToolUnavailableError(f"the API answered {path} with HTTP {status}")
    if status >= 400:
        raise ToolInputError(f"the API answered {path} with HTTP {status}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise ToolInputError("response too large")


def _append(body: bytearray, chunk: bytes) -> None:
    body.extend(chunk)
    if len(body) > MAX_RESPONSE_BYTES:
        raise ToolInputError(f"response too large (limit {MAX_RESPONSE_BYTES} bytes)")


def _decode(body: bytes, path: str) -> str:
    try:
        return json.dumps(json.loads(body), ensure_ascii=False)
    except (ValueError, RecursionError):
        raise ToolInputError(f"the API answered {path} with something other than usable JSON") from None


def fetch(path: str, transport: httpx.BaseTransport | None = None) -> str:
    url, timeout, auth_headers = _target(path)
    body = bytearray()
    try:
        with (
            # trust_env=False: an HTTP(S)_PROXY in the environment must not be able to reroute requests.
            httpx.Client(
                transport=transport, timeout=timeout, follow_redirects=False, trust_env=False, headers=_HEADERS
            ) as client,
            client.stream("GET", url, headers=auth_headers) as response,
        ):
            _check_status(response, path)
            for chunk in response.iter_bytes():
                _append(body, chunk)
    except httpx.TimeoutException:
        raise ToolUnavailableError(f"the API did not answer {path} within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise ToolUnavailableError(f"could not reach the API ({type(exc).__name__})") from None
    return _decode(bytes(body), path)


async def afetch(path: str, transport: httpx.AsyncBaseTransport | None = None) -> str:
    url, timeout, auth_headers = _target(path)
    body = bytearray()
    try:
        async with (
            httpx.AsyncClient(
                transport=transport, timeout=timeout, follow_redirects=False, trust_env=False, headers=_HEADERS
            ) as client,
            client.stream("GET", url, headers=auth_headers) as response,
        ):
            _check_status(response, path)
            async for chunk in response.aiter_bytes():
                _append(body, chunk)
    except httpx.TimeoutException:
        raise ToolUnavailableError(f"the API did not answer {path} within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise ToolUnavailableError(f"could not reach the API ({type(exc).__name__})") from None
    return _decode(bytes(body), path)


def _get(path: str) -> str:
    return fetch(path)


async def _aget(path: str) -> str:
    return await afetch(path)


http_api = CheckedTool.from_function(
    func=_get,
    coroutine=_aget,
    name="http_api",
    description=(
        "GET a read-only resource from the company REST API and return its JSON: order status "
        "(/orders/{order_id}), stock levels (/inventory/{sku}) and service health (/status/{service})."
    ),
    args_schema=HttpApiArgs,
    metadata={"version": "1", "ttl": 30},
)
