"""The datasets' own validator, run as a test: a malformed row fails CI, not a compile run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

CHECK = Path(__file__).resolve().parents[2] / "datasets" / "check.py"


def _check_module() -> object:
    spec = importlib.util.spec_from_file_location("datasets_check", CHECK)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_datasets_pass_their_checks(capsys: pytest.CaptureFixture[str]) -> None:
    check = _check_module()
    assert check.main() == 0, capsys.readouterr().out  # type: ignore[attr-defined]


def test_a_no_call_row_without_a_reason_is_a_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check = _check_module()
    rows = (CHECK.parent / "tool_selection.jsonl").read_text(encoding="utf-8").splitlines()
    first_no_call = next(i for i, line in enumerate(rows) if '"expected_calls": []' in line)
    rows[first_no_call] = rows[first_no_call].replace('"decline": ', '"why": ')
    (tmp_path / "tool_selection.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    api, unseen, splits = check.check_corpus_and_api(), check.load_unseen(), check.load_toolset_splits()  # type: ignore[attr-defined]
    assert not check.problems  # type: ignore[attr-defined]
    monkeypatch.setattr(check, "DATASETS_DIR", tmp_path)  # only tool_selection.jsonl is read from here
    check.check_tool_selection(api, unseen, splits)  # type: ignore[attr-defined]
    assert any("needs 'decline'" in p for p in check.problems)  # type: ignore[attr-defined]


def test_a_later_round_row_without_its_results_is_a_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check = _check_module()
    rows = (CHECK.parent / "tool_selection.jsonl").read_text(encoding="utf-8").splitlines()
    retry = next(i for i, line in enumerate(rows) if '"category": "retry"' in line)
    answered = next(i for i, line in enumerate(rows) if '"decline": "answered"' in line)
    for i in (retry, answered):
        row = json.loads(rows[i])
        row.pop("tool_results")
        rows[i] = json.dumps(row)
    bad = next(i for i, line in enumerate(rows) if '"category": "next_step"' in line)
    row = json.loads(rows[bad])
    row["tool_results"][0].pop("output")
    rows[bad] = json.dumps(row)
    (tmp_path / "tool_selection.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    api, unseen, splits = check.check_corpus_and_api(), check.load_unseen(), check.load_toolset_splits()  # type: ignore[attr-defined]
    monkeypatch.setattr(check, "DATASETS_DIR", tmp_path)
    check.check_tool_selection(api, unseen, splits)  # type: ignore[attr-defined]
    found = "\n".join(check.problems)  # type: ignore[attr-defined]
    assert "a 'retry' row needs the calls already made, in 'tool_results'" in found
    assert "decline 'answered' needs the results that answer it" in found
    assert "bad tool_results entry" in found and "exactly one of output or error" in found
