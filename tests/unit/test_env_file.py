"""`.env`: what .env.example offers, and agent-up reading `.env` the way `langgraph dev` does."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from runtime.settings import PROJECT_ROOT, ROLES, Settings
from serving.up import apply_env_file

EXAMPLE = PROJECT_ROOT / ".env.example"


def example_names() -> list[str]:
    return re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", EXAMPLE.read_text(), re.M)


def test_env_example_names_only_real_settings() -> None:
    known = {name.upper() for name in Settings.model_fields} | {"LANGSMITH_API_KEY", "LANGSMITH_TRACING"}
    names = example_names()
    assert {"OPENAI_API_KEY", "LLM_BASE_URL", "LLM_MODEL", "AUTH_JWT_SECRET"} <= set(names)
    assert not set(names) - known, set(names) - known


def test_env_example_as_copied_keeps_the_defaults_and_uncommenting_a_key_selects_the_hosted_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in example_names():
        monkeypatch.delenv(name, raising=False)
    copied = tmp_path / ".env"
    copied.write_text(EXAMPLE.read_text())
    assert Settings(_env_file=copied).uses_local_model  # type: ignore[call-arg]
    copied.write_text(EXAMPLE.read_text().replace("# OPENAI_API_KEY=", "OPENAI_API_KEY="))
    assert not Settings(_env_file=copied).uses_local_model  # type: ignore[call-arg]


def test_langgraph_json_reads_dot_env() -> None:
    assert json.loads((PROJECT_ROOT / "langgraph.json").read_text())["env"] == ".env"


def test_agent_up_applies_dot_env_over_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("LLM_BASE_URL=http://hosted.example/v1\nLLM_MODEL=same\nBARE_NAME\n")
    monkeypatch.setenv("LLM_BASE_URL", "http://exported.example/v1")
    monkeypatch.setenv("LLM_MODEL", "same")
    monkeypatch.delenv("BARE_NAME", raising=False)
    assert apply_env_file(env_file) == ["LLM_BASE_URL"]
    assert os.environ["LLM_BASE_URL"] == "http://hosted.example/v1"
    assert "BARE_NAME" not in os.environ
    assert apply_env_file(tmp_path / "missing") == []


def test_make_test_uses_the_embedded_model_whatever_dot_env_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dry = subprocess.run(["make", "-n", "test", "VENV=/nonexistent-venv"], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, check=True).stdout.splitlines()  # fmt: skip
    commands = [line for line in dry if "/bin/agent-up" in line or "/bin/pytest" in line]
    assert len(commands) == 2
    model_settings = ["OPENAI_API_KEY", "LLM_BASE_URL"] + [f"{role.upper()}_BASE_URL" for role in ROLES]
    for line in commands:
        assert all(f" {name}= " in line for name in model_settings), line
    # An exported empty value wins over .env's (pydantic-settings), so the hosted key below is not used.
    env_file = tmp_path / ".env"
    env_file.write_text("OPENAI_API_KEY=sk-from-dot-env\nLLM_BASE_URL=http://hosted.example/v1\n")
    monkeypatch.setenv("OPENAI_API_KEY", "")
    monkeypatch.setenv("LLM_BASE_URL", "")
    assert Settings(_env_file=env_file).uses_local_model  # type: ignore[call-arg]
