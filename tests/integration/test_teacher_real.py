"""The teacher wiring on the embedded model standing in for both roles: BootstrapFewShot's traces
come from the teacher's LM, the dev scores from the student's (a small budget)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from runtime.settings import get_settings
from serving.local_model import serve
from tests.e2e.test_make_it_yours import run, small_kitchen

pytestmark = pytest.mark.integration


def test_bootstrap_with_the_embedded_model_as_teacher_and_student(tmp_path: Path) -> None:
    get_settings.cache_clear()
    serve(get_settings())
    agent = small_kitchen(tmp_path, per_kind=3)  # 12 rows: 4 train, 4 dev, 4 test
    env = {**os.environ, "AGENT_CONFIG": str(agent / "agent.toml"), "DSPY_CACHE": "false"}
    for name in ("LLM_BASE_URL", "LLM_MODEL", "OPENAI_API_KEY", "TEACHER_BASE_URL", "TEACHER_MODEL"):
        env.pop(name, None)
    slug = get_settings().local_model  # the embedded model's name is its slug
    run([sys.executable, "-m", "offline.compile", "--optimizer", "bootstrap", "--demos", "2", "--teacher", slug,
         "--no-compare", "--no-activate"], env, 600)  # fmt: skip
    (meta_file,) = (agent / "compiled").glob("*/variants/selector-bootstrap.meta.json")
    meta = json.loads(meta_file.read_text())
    assert meta["settings"]["teacher"] == slug and meta["train_examples"] == 4 and meta["dev_examples"] == 4
    # The teacher ran the train rows until it had 2 passing traces (at most all 4); the student was
    # scored on dev twice (before and after), in requests of its own.
    assert 1 <= meta["teacher_lm_calls"] <= 4
    assert meta["lm_calls"] - meta["teacher_lm_calls"] >= 2 * 4
    demos = json.loads(meta_file.with_suffix("").with_suffix(".json").read_text())["select"]["demos"]
    assert len(demos) <= 2
