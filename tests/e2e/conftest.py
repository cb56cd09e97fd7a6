"""End-to-end fixtures: the real local model server and a real `langgraph dev`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runtime.settings import get_settings
from serving.local_model import serve
from testkit.server import langgraph_dev

REDIS_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture(scope="session")
def local_model() -> None:
    """The embedded model, started if it is not already answering (a failure fails the tests)."""
    get_settings.cache_clear()
    serve(get_settings())


@pytest.fixture(scope="module")
def server(local_model: None) -> Iterator[str]:
    with langgraph_dev(env={"REDIS_URL": REDIS_URL}) as url:
        yield url
