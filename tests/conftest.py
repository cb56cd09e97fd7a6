"""Shared fixtures: a scripted LM wired into every graph node, and small fake tools."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runtime.bootstrap import configure
from runtime.circuit import reset_breakers
from runtime.settings import get_settings
from testkit.scripted_lm import ScriptedLM


@pytest.fixture(autouse=True, scope="session")
def _configured_libraries() -> None:
    """Library defaults and the LM cache, as the graph factory and the entry points configure them."""
    configure()


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    reset_breakers()
    yield
    get_settings.cache_clear()
    reset_breakers()


@pytest.fixture
def scripted_lm(monkeypatch: pytest.MonkeyPatch) -> ScriptedLM:
    """Every node's LM becomes this scripted LM (the programs, adapters and parsing stay real)."""
    lm = ScriptedLM()
    monkeypatch.setattr("nodes.roles.lm_at", lambda endpoint, settings=None, max_tokens=None: lm)
    return lm
