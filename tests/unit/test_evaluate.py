"""`evaluate`: bad names answered in one line, results never overwritten unless asked, every reply kept
and classed (scripted LM and scripted HTTP replies)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_openai import ChatOpenAI

from offline import evaluate as evaluate_step
from runtime.models import endpoint
from testkit.scripted_lm import ScriptedLM


@pytest.fixture
def lm(monkeypatch: pytest.MonkeyPatch) -> ScriptedLM:
    scripted = ScriptedLM()
    monkeypatch.setattr(evaluate_step, "dspy_lm", lambda role, settings=None, model=None, max_tokens=None: scripted)
    return scripted


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert evaluate_step.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_an_unknown_variant_exits_2_naming_the_valid_ones(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = one_line_error(capsys, ["--variants", "typo", "--results-dir", str(tmp_path)])
    assert err.startswith("evaluate: unknown variant 'typo' for --program selector; valid: zero-shot, ")
    assert "native" in err and "compiled" in err
    assert not list(tmp_path.iterdir())  # nothing ran, nothing written


def test_an_unknown_critic_variant_and_a_removed_selector_variant_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    err = one_line_error(capsys, ["--program", "critic", "--variants", "zero-shot"])
    assert "valid: alone, cot, predict" in err
    err = one_line_error(capsys, ["--variants", "zs:reasoning=1"])
    assert "unknown variant 'zs:reasoning=1'" in err and "valid: zero-shot, compiled, native, native-one-call" in err
    assert "does not apply" in one_line_error(capsys, ["--program", "answers", "--variants", "native"])


def test_an_unknown_compiled_name_exits_2_naming_the_compiled_ones(capsys: pytest.CaptureFixture[str],
                                                                   tmp_path: Path) -> None:  # fmt: skip
    variants = tmp_path / endpoint("selector").slug / "variants"
    variants.mkdir(parents=True)
    (variants / "selector-labeled.json").write_text("{}")
    (variants / "selector-labeled.meta.json").write_text("{}")
    err = one_line_error(capsys, ["--variants", "compiled", "--compiled", "labeld", "--compiled-dir", str(tmp_path)])
    assert err == f"evaluate: unknown compiled variant 'labeld' in {variants}; valid: labeled\n"


def test_a_missing_rescore_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert "no such result file" in one_line_error(capsys, ["--rescore", str(tmp_path / "nope.json")])


def test_results_go_to_a_new_file_unless_replace_is_given(lm: ScriptedLM, tmp_path: Path) -> None:
    argv = ["--split", "dev", "--limit", "2", "--variants", "zero-shot", "--results-dir", str(tmp_path)]
    assert evaluate_step.main(argv) == 0
    (first,) = tmp_path.glob("*.json")
    first.write_text('{"committed": true}')  # a committed result stands in
    assert evaluate_step.main(argv) == 0
    assert json.loads(first.read_text()) == {"committed": True}
    second = first.with_name(first.stem + "-2.json")
    assert second.exists() and second.with_suffix(".md").exists() and second.with_suffix(".png").exists()
    assert evaluate_step.main([*argv, "--replace"]) == 0
    assert "outcomes" in json.loads(first.read_text())  # asked to replace: replaced
    assert not first.with_name(first.stem + "-3.json").exists()
    assert evaluate_step.main([*argv, "--tag", "baseline"]) == 0
    assert len(list(tmp_path.glob("selector-dev-baseline-*.json"))) == 1


def test_every_reply_is_kept_with_its_class_and_the_counts_are_printed(
    lm: ScriptedLM, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert evaluate_step.main(["--split", "dev", "--limit", "6", "--variants", "zero-shot",
                               "--results-dir", str(tmp_path)]) == 0  # fmt: skip
    (path,) = tmp_path.glob("*.json")
    saved = json.loads(path.read_text())
    (outcomes,) = saved["outcomes"].values()
    assert all(o["reply"] and o["failure"] in evaluate_step.FAILURE_CLASSES for o in outcomes)
    summary = saved["summary"][0]
    assert sum(summary["failures"].values()) == 6 and summary["failures"]["ok"] == round(summary["exact_tool_set"] * 6)
    err = capsys.readouterr().err
    assert "ok=" in err and "declined_when_needed=" in err
    assert "| variant | ok | wrong_tool | missing_part |" in path.with_suffix(".md").read_text()


def scripted_chat(monkeypatch: pytest.MonkeyPatch, message: dict[str, Any]) -> list[dict[str, Any]]:
    """Native tool calling against a scripted OpenAI-compatible reply; returns the request bodies."""
    seen: list[dict[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"id": "c", "object": "chat.completion", "created": 0, "model": "m",
                                         "choices": [{"index": 0, "finish_reason": "stop",
                                                      "message": {"role": "assistant", **message}}]})  # fmt: skip

    def chat_model(role: str, model: str | None = None, **kwargs: Any) -> ChatOpenAI:
        return ChatOpenAI(model="m", base_url="http://model.test/v1", api_key="k", max_retries=0,  # type: ignore[arg-type]
                          http_client=httpx.Client(transport=httpx.MockTransport(handle)), **kwargs)  # fmt: skip

    monkeypatch.setattr(evaluate_step, "chat_model", chat_model)
    return seen


def test_a_native_call_that_fails_validation_is_kept_as_invalid_arguments(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = {"id": "a", "type": "function", "function": {"name": "calculator", "arguments": '{"expr": "1"}'}}
    seen = scripted_chat(monkeypatch, {"content": None, "tool_calls": [bad]})
    assert evaluate_step.main(["--split", "dev", "--limit", "3", "--variants", "native",
                               "--results-dir", str(tmp_path)]) == 0  # fmt: skip
    assert seen[0]["max_completion_tokens"] == evaluate_step.get_settings().lm_max_tokens
    (path,) = tmp_path.glob("*.json")
    outcomes = json.loads(path.read_text())["outcomes"][evaluate_step.NATIVE]
    for o in outcomes:
        assert o["predicted"] == [] and o["rejected"][0]["name"] == "calculator"
        assert o["reply"]["tool_calls"] == [{"name": "calculator", "args": {"expr": "1"}}]
        wanted = [c["name"] for c in o["expected"]]
        assert o["failure"] == ("ok" if not wanted else "invalid_arguments" if "calculator" in wanted
                                else "wrong_tool")  # fmt: skip


def test_rescore_reads_kept_native_replies_again_against_the_schemas_the_model_was_shown(tmp_path: Path) -> None:
    # An optional argument written as null: the complete schema (what `bind_tools` sent) allows it.
    content = '```json\n{"name": "date_calculator", "arguments": {"operation": "weekday", "date": "2026-02-20", ' \
              '"end_date": null, "days": null}}\n```'  # fmt: skip
    expected = [{"name": "date_calculator", "args": {"operation": "weekday", "date": "2026-02-20"}}]
    kept = {"id": "r1", "category": "single", "toolset": "shipped", "expected": expected, "predicted": [],
            "exact": False, "args": False, "seconds": 1.0, "lm_calls": 1, "tokens": 10,
            "rejected": [{"name": "date_calculator", "args": {}, "reason": "invalid arguments: None is not a string"}],
            "failure": "invalid_arguments",
            "reply": {"content": content, "tool_calls": [], "invalid_tool_calls": []}}  # fmt: skip
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps({"command": "evaluate", "split": "test", "model": "m", "dspy_cache": False,
                                 "outcomes": {evaluate_step.NATIVE: [kept]}}))  # fmt: skip
    assert evaluate_step.main(["--rescore", str(saved), "--results-dir", str(tmp_path / "out")]) == 0
    (outcome,) = json.loads((tmp_path / "out" / "selector-test-m.json").read_text())["outcomes"][evaluate_step.NATIVE]
    assert outcome["predicted"][0]["name"] == "date_calculator" and outcome["rejected"] == []
    assert outcome["failure"] == "ok" and outcome["exact"] and outcome["args"]
