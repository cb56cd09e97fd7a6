"""The http_api tool against the real demo API, served by uvicorn on a loopback port.

The demo app is mounted under /demo-api exactly as the graph server mounts it, so the
base-URL join, the mount prefix and redirect refusal are all exercised over real sockets.
"""

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Mount, Route

from runtime.settings import get_settings
from tools import TOOLS_BY_NAME, ToolInputError
from tools.demo_api import app as demo_app


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _redirect(request: Request) -> RedirectResponse:
    return RedirectResponse("http://example.com/", status_code=302)


@pytest.fixture(scope="module")
def server_port() -> Iterator[int]:
    host_app = Starlette(
        routes=[Route("/demo-api/moved", _redirect), Mount("/demo-api", app=demo_app)],
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(host_app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("demo API server did not start")
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def tool_env(server_port: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setenv("HTTP_TOOL_BASE_URL", f"http://127.0.0.1:{server_port}/demo-api")
    monkeypatch.setenv("HTTP_TOOL_ALLOWED_HOSTS", '["127.0.0.1"]')
    monkeypatch.setenv("TOOL_TIMEOUT_S", "5")
    get_settings.cache_clear()
    yield server_port
    get_settings.cache_clear()


def test_sync_call(tool_env: int) -> None:
    result = json.loads(TOOLS_BY_NAME["http_api"].invoke({"path": "/orders/A1001"}))
    assert result["status"] and result["items"]


async def test_async_call(tool_env: int) -> None:
    result = json.loads(await TOOLS_BY_NAME["http_api"].ainvoke({"path": "/inventory/NW-ARM-200"}))
    assert "in_stock" in result


async def test_index_and_status(tool_env: int) -> None:
    index = json.loads(await TOOLS_BY_NAME["http_api"].ainvoke({"path": "/"}))
    assert "/status/{service}" in index["endpoints"]
    assert "status" in json.loads(TOOLS_BY_NAME["http_api"].invoke({"path": "/status/billing"}))


def test_not_found(tool_env: int) -> None:
    with pytest.raises(ToolInputError, match="not found: /orders/NOPE"):
        TOOLS_BY_NAME["http_api"].invoke({"path": "/orders/NOPE"})


async def test_not_found_async(tool_env: int) -> None:
    with pytest.raises(ToolInputError, match="not found"):
        await TOOLS_BY_NAME["http_api"].ainvoke({"path": "/status/nope"})


@pytest.mark.parametrize("path", ["/../../etc/passwd", "//example.com/x", "/@example.com", "/orders?x=1"])
def test_path_escape_attempts_are_refused(tool_env: int, path: str) -> None:
    with pytest.raises(ToolInputError):
        TOOLS_BY_NAME["http_api"].invoke({"path": path})


def test_redirects_are_not_followed(tool_env: int) -> None:
    with pytest.raises(ToolInputError, match="redirect"):
        TOOLS_BY_NAME["http_api"].invoke({"path": "/moved"})


def test_host_outside_allowlist_is_refused(tool_env: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_TOOL_ALLOWED_HOSTS", '["localhost"]')
    get_settings.cache_clear()
    with pytest.raises(ToolInputError, match="allowed hosts"):
        TOOLS_BY_NAME["http_api"].invoke({"path": "/orders/A1001"})
