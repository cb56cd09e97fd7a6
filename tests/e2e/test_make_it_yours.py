"""docs/make-it-yours.md, followed on the embedded model: check, optimize, serve, ask (a small budget:
the kitchen example agent with four rows of each kind)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from offline import rows
from runtime.settings import PROJECT_ROOT
from testkit.server import langgraph_dev

pytestmark = pytest.mark.e2e

KITCHEN = PROJECT_ROOT / "examples" / "kitchen"
BIN = Path(sys.executable).parent


def small_kitchen(tmp_path: Path, per_kind: int = 4) -> Path:
    """The example agent with its first `per_kind` rows of each kind (two train, one dev, one test)."""
    folder = tmp_path / "kitchen"
    shutil.copytree(KITCHEN, folder, ignore=shutil.ignore_patterns("compiled", "__pycache__"))
    kept: dict[str, list[str]] = {}
    for line in (KITCHEN / "rows.jsonl").read_text().splitlines():
        kept.setdefault(rows.kind(json.loads(line)), []).append(line)
    (folder / "rows.jsonl").write_text("".join(line + "\n" for group in kept.values() for line in group[:per_kind]))
    return folder


def run(command: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=PROJECT_ROOT)
    assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr
    return done


def test_the_walkthrough_compiles_compares_and_serves_the_example_agent(local_model: None, tmp_path: Path) -> None:
    agent = small_kitchen(tmp_path)
    env = {**os.environ, "AGENT_CONFIG": str(agent / "agent.toml"), "DSPY_CACHE": "false",
           "PYTHONPATH": str(PROJECT_ROOT)}  # fmt: skip
    for name in ("LLM_BASE_URL", "LLM_MODEL", "OPENAI_API_KEY", "SELECTOR_MODEL", "TEACHER_MODEL"):
        env.pop(name, None)

    checked = run([sys.executable, "datasets/check.py"], env, 120)
    assert "16 rows checked against the configured tools" in checked.stdout

    optimized = run([str(BIN / "optimize")], env, 600)
    (meta_file,) = (agent / "compiled").glob("*/variants/selector-labeled.meta.json")
    meta = json.loads(meta_file.read_text())
    variants = [row["variant"] for row in meta["test_table"]]
    assert variants == ["uncompiled (zero-shot)", "compiled for the template's tools", "compiled now (labeled)",
                        "native tool calling (bind_tools)"]  # fmt: skip
    assert all(row["n"] == 4 for row in meta["test_table"])
    assert "| native tool calling (bind_tools) |" in optimized.stdout
    slug = meta["model"]
    expected = f"selector compiled (labeled) for {slug}" if meta["activated"] \
        else f"selector zero-shot: nothing active for {slug}"  # fmt: skip

    with langgraph_dev(env={"AGENT_CONFIG": env["AGENT_CONFIG"], "DSPY_CACHE": "false"}) as url:
        asked = run([str(BIN / "ask"), "--url", url, "--no-critique",
                     "Scale the pancakes to 6 servings, please."], env, 300)  # fmt: skip
    assert f"▸ asking the server at {url}" in asked.stdout + asked.stderr
    assert expected in asked.stdout + asked.stderr
    assert asked.stdout.strip().splitlines()[-1] != "(no answer)"
