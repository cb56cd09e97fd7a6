"""The model server's warm-up sends each role the prompt prefix its real calls start with."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dspy
import pytest

from dspy_programs.store import PROGRAM_CACHE
from runtime.agent_config import load_tools
from runtime.models import endpoint, lm_at
from runtime.settings import ROLES, Role, Settings, get_settings
from serving.warm import warm_prompt_cache
from testkit.scripted_server import ScriptedURL, scripted_server


@pytest.fixture
def local_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ScriptedURL, Settings]]:
    """The scripted model server standing in for the embedded one (no hosted model configured)."""
    with scripted_server() as url:
        for name in ("LLM_BASE_URL", "OPENAI_API_KEY", "LLM_MODEL"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("LOCAL_MODEL_PORT", url.rsplit(":", 1)[1].split("/")[0])
        monkeypatch.setenv("DSPY_CACHE", "false")
        get_settings.cache_clear()
        yield url, get_settings()
    get_settings.cache_clear()


def sent(url: ScriptedURL) -> list[dict[str, Any]]:
    return list(url.app.state.bodies)


def test_each_role_is_sent_its_prefix_once_for_one_token(local_server: tuple[ScriptedURL, Settings]) -> None:
    url, settings = local_server
    warmed = warm_prompt_cache(settings)
    assert [w.role for w in warmed] == list(ROLES)
    bodies = sent(url)
    assert len(bodies) == len(ROLES)
    assert all(b["max_tokens"] == 1 for b in bodies)
    assert [role for role, _ in url.app.state.seen] == list(ROLES)


def warmed_and_real(url: ScriptedURL, settings: Settings, role: Role, **inputs: Any) -> tuple[list[Any], list[Any]]:
    """The messages the warm-up sent for `role`, and those of a real call of its program on `inputs`."""
    warm_prompt_cache(settings)
    warmed = sent(url)[list(ROLES).index(role)]["messages"]
    ep = endpoint(role, settings)
    with dspy.context(lm=lm_at(ep, settings)):
        PROGRAM_CACHE.get(role, ep.slug)(**inputs)
    return warmed, sent(url)[-1]["messages"]


def test_the_selector_prefix_is_its_real_system_message(local_server: tuple[ScriptedURL, Settings]) -> None:
    """A question's selector call starts with exactly what was warmed: the whole system message
    (instructions, worked examples, every offered tool), so the server reuses all of it."""
    warmed, real = warmed_and_real(*local_server, "selector", question="What is 17% of 2,340?", tools=load_tools())
    assert real[0]["role"] == "system" and warmed[0] == real[0]
    assert "What is 17% of 2,340?" in real[1]["content"] and "2,340" not in warmed[1]["content"]


def test_the_synthesizer_prefix_is_all_but_its_last_message(local_server: tuple[ScriptedURL, Settings]) -> None:
    warmed, real = warmed_and_real(*local_server, "synthesizer", question="What is 17% of 2,340?",
                                   tool_results="calculator(17% of 2340) -> 397.8")  # fmt: skip
    assert len(real) == len(warmed) > 1  # the compiled synthesizer's worked examples are turns
    assert real[:-1] == warmed[:-1]  # system message and worked examples
    assert real[-1] != warmed[-1]


@pytest.mark.usefixtures("local_server")
def test_roles_on_a_hosted_model_are_not_warmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHESIZER_BASE_URL", "http://127.0.0.1:9/v1")
    get_settings.cache_clear()
    warmed = warm_prompt_cache(get_settings())
    assert "synthesizer" not in [w.role for w in warmed]
    assert len(warmed) == len(ROLES) - 1


def test_a_server_that_fails_stops_the_warm_up_with_a_line(capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    for name in ("LLM_BASE_URL", "OPENAI_API_KEY", "LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOCAL_MODEL_PORT", "9")  # nothing listens there
    get_settings.cache_clear()
    try:
        assert warm_prompt_cache(get_settings(), timeout_s=2.0) == []
    finally:
        get_settings.cache_clear()
    assert "warm-up stopped at the selector" in capsys.readouterr().err


def test_tools_that_do_not_load_are_reported_in_a_line(local_server: tuple[ScriptedURL, Settings], tmp_path: Any,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    url, _ = local_server
    (tmp_path / "agent.toml").write_text('[agent]\nname = "broken"\ntools = "missing.py:TOOLS"\n')
    monkeypatch.setenv("AGENT_CONFIG", str(tmp_path / "agent.toml"))
    get_settings.cache_clear()
    assert warm_prompt_cache(get_settings()) == []
    err = capsys.readouterr().err
    assert "not warmed" in err and "missing.py" in err
    assert not sent(url), "nothing is sent when the tools do not load"
