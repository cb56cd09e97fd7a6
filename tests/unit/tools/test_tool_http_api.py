import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tools.http_api as http_module
from runtime.settings import get_settings
from tools.errors import ToolInputError
from tools.http_api import MAX_RESPONSE_BYTES, afetch, fetch, http_api
from tools.http_url import build_url, validate_path

BASE = "http://127.0.0.1:2024/demo-api"
ALLOWED = ["127.0.0.1", "localhost"]


@pytest.fixture(autouse=True)
def api_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HTTP_TOOL_BASE_URL", BASE)
    monkeypatch.setenv("HTTP_TOOL_ALLOWED_HOSTS", json.dumps(ALLOWED))
    monkeypatch.setenv("TOOL_TIMEOUT_S", "2")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def handler(request: httpx.Request) -> httpx.Response:
    path = request.url.path.removeprefix("/demo-api")
    if path == "/orders/A1001":
        return httpx.Response(200, json={"id": "A1001", "status": "shipped"})
    if path == "/big":
        return httpx.Response(200, content=b"[" + b"1," * MAX_RESPONSE_BYTES + b"1]")
    if path == "/deep":
        return httpx.Response(200, content=b"[" * 100_000 + b"]" * 100_000)
    if path == "/html":
        return httpx.Response(200, text="<html>hi</html>")
    if path == "/moved":
        return httpx.Response(302, headers={"location": "http://evil.example/"})
    if path == "/broken":
        return httpx.Response(500, json={"error": "boom"})
    if path == "/slow":
        raise httpx.ReadTimeout("slow", request=request)
    if path == "/down":
        raise httpx.ConnectError("refused", request=request)
    return httpx.Response(404, json={"error": "not found"})


SYNC = httpx.MockTransport(handler)


def test_sync_fetch_returns_json_text() -> None:
    assert json.loads(fetch("/orders/A1001", transport=SYNC)) == {"id": "A1001", "status": "shipped"}


async def test_async_fetch_returns_json_text() -> None:
    result = await afetch("/orders/A1001/", transport=httpx.MockTransport(handler))
    assert json.loads(result)["status"] == "shipped"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/orders/X", "not found: /orders/X"),
        ("/big", "too large"),
        ("/html", "other than usable JSON"),
        ("/deep", "other than usable JSON"),
        ("/moved", "redirect"),
        ("/broken", "HTTP 500"),
        ("/slow", "did not answer"),
        ("/down", "could not reach"),
    ],
)
def test_fetch_failures_are_tool_input_errors(path: str, message: str) -> None:
    with pytest.raises(ToolInputError, match=message):
        fetch(path, transport=SYNC)


async def test_async_failures_are_tool_input_errors() -> None:
    with pytest.raises(ToolInputError, match="not found: /orders/X"):
        await afetch("/orders/X", transport=httpx.MockTransport(handler))


def test_tool_has_sync_and_async_paths_and_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    assert http_api.name == "http_api"
    assert http_api.metadata == {"version": "1", "ttl": 30}
    assert http_api.coroutine is not None
    monkeypatch.setattr(http_module, "fetch", lambda path: f"sync {path}")
    assert http_api.invoke({"path": "/status/billing"}) == "sync /status/billing"


async def test_tool_ainvoke_uses_the_coroutine(monkeypatch: pytest.MonkeyPatch) -> None:
    async def fake(path: str) -> str:
        return f"async {path}"

    monkeypatch.setattr(http_module, "afetch", fake)
    assert await http_api.ainvoke({"path": "/status/billing"}) == "async /status/billing"


def test_settings_host_must_be_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_TOOL_BASE_URL", "http://evil.example/api")
    get_settings.cache_clear()
    with pytest.raises(ToolInputError, match="allowed hosts"):
        fetch("/orders/A1001", transport=SYNC)


@pytest.mark.parametrize(
    "path",
    [
        "/orders/A1001",
        "/inventory/NW-ARM-200",
        "/status/billing",
        "/",
        "/a_b/c-d/e.json",
    ],
)
def test_valid_paths(path: str) -> None:
    url = build_url(path, BASE, ALLOWED)
    assert url.startswith(BASE + "/") or url == BASE + "/"


@pytest.mark.parametrize(
    "path",
    [
        "",
        "orders/A1001",
        "/../admin",
        "/orders/../../etc/passwd",
        "/orders/./A1001",
        "/.",
        "//evil.example/x",
        "/orders//A1001",
        "/@evil.example",
        "/orders?id=1",
        "/orders#frag",
        "/http://evil.example",
        "/orders/%2e%2e/admin",
        "/orders/A1001 ",
        "/orders/\u0410",
        "/orders/\x00",
        "/orders\\..\\admin",
        "/" + "a" * 300,
        "\u202e/orders",
    ],
)
def test_hostile_paths_are_refused(path: str) -> None:
    with pytest.raises(ToolInputError):
        http_api.invoke({"path": path})


def test_validate_path_strips_trailing_slash() -> None:
    assert validate_path("/orders/A1001/") == "/orders/A1001"
    assert validate_path("/") == "/"


PATHISH = st.text(alphabet="/._-@:?#%\\aZ09. \u0430\x00", max_size=40)


@settings(deadline=200, max_examples=500, database=None)
@given(st.one_of(st.text(max_size=60), PATHISH, PATHISH.map(lambda s: "/" + s)))
def test_random_paths_never_leave_the_allowlist(path: str) -> None:
    try:
        url = build_url(path, BASE, ALLOWED)
    except ToolInputError:
        return
    parts = urlsplit(url)
    assert parts.hostname in ALLOWED
    assert parts.scheme in {"http", "https"}
    assert parts.netloc == "127.0.0.1:2024"
    assert parts.path.startswith("/demo-api")
    assert not parts.query and not parts.fragment
    assert ".." not in parts.path
    assert httpx.URL(url).host in ALLOWED
