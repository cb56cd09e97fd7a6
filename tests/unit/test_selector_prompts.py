"""benchmarks/selector_prompts: two dumps of requests compare as the model reads them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.selector_prompts import compare, outcomes
from dspy_programs.tool_block import tools_block

TOOLS = [{"type": "function", "function": {"name": "calculator", "description": "Arithmetic.",
                                           "parameters": {"type": "object", "properties": {}}}}]  # fmt: skip


def dump(path: Path, requests: dict[str, Any]) -> Path:
    path.write_text(json.dumps(requests))
    return path


def test_tools_in_the_field_and_in_the_system_message_read_the_same(tmp_path: Path, capsys: Any) -> None:
    user = {"role": "user", "content": "2+2?"}
    in_field = {"r1": {"messages": [{"role": "system", "content": "Choose."}, user], "tools": TOOLS}}
    in_system = {"r1": {"messages": [{"role": "system", "content": "Choose." + tools_block(TOOLS)}, user]}}
    changed = {"r1": {"messages": [{"role": "system", "content": "Choose!" + tools_block(TOOLS)}, user]}}
    before = dump(tmp_path / "before.json", in_field)
    assert compare(before, dump(tmp_path / "after.json", in_system), None, 0) == 0
    assert compare(before, dump(tmp_path / "changed.json", changed), None, 0) == 1
    assert "1 different: r1" in capsys.readouterr().out


def test_per_row_calls_of_two_runs(tmp_path: Path) -> None:
    def run(calls: list[str]) -> Path:
        rows = [{"id": f"r{i}", "predicted": [{"name": c}], "exact": True} for i, c in enumerate(calls)]
        return dump(tmp_path / f"{'-'.join(calls)}.json", {"outcomes": {"compiled: k12d (active)": rows}})

    assert outcomes(run(["a", "b"]), run(["a", "b"]), "k12d") == 0
    assert outcomes(run(["a", "b"]), run(["a", "c"]), "k12d") == 1
