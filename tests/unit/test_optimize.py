"""`optimize` on a configured agent (agent.toml), its rows, the teacher, the data check and draft-rows,
against the scripted OpenAI-compatible model server."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dspy_programs import store
from offline import compile as compile_step
from offline import rows
from runtime import models
from runtime.agent_config import AgentConfigError, agent_config, read_config
from runtime.lm_cache import configure_lm_cache
from runtime.settings import PROJECT_ROOT, get_settings
from testkit.scripted_server import ScriptedURL, scripted_server

KITCHEN = PROJECT_ROOT / "examples" / "kitchen"


@pytest.fixture(scope="module")
def student() -> Iterator[ScriptedURL]:
    with scripted_server() as url:
        yield url


@pytest.fixture(scope="module")
def teacher() -> Iterator[ScriptedURL]:
    with scripted_server() as url:
        yield url


@pytest.fixture
def agent(tmp_path: Path) -> Path:
    """A copy of the kitchen example agent (its tools, rows and agent.toml) in tmp_path."""
    folder = tmp_path / "kitchen"
    shutil.copytree(KITCHEN, folder, ignore=shutil.ignore_patterns("compiled", "__pycache__"))
    return folder


@pytest.fixture
def env(agent: Path, student: ScriptedURL, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The copied agent configured, its models on the scripted server, no LM cache."""
    monkeypatch.setenv("AGENT_CONFIG", str(agent / "agent.toml"))
    monkeypatch.setenv("LLM_BASE_URL", student)
    monkeypatch.setenv("LLM_MODEL", "scripted")
    monkeypatch.setenv("DSPY_CACHE", "false")
    for name in ("TEACHER_MODEL", "TEACHER_BASE_URL", "SELECTOR_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(models, "_lms", {})
    get_settings.cache_clear()
    configure_lm_cache(force=True)
    yield agent
    monkeypatch.undo()
    get_settings.cache_clear()
    configure_lm_cache(force=True)


def questions(url: ScriptedURL) -> list[str]:
    return [fields.get("question", "") for _, fields in url.app.state.seen]


def kitchen_split(name: str) -> set[str]:
    return {ex.question for ex in rows.examples(rows.load(agent_config()), name)}


def test_one_optimize_compiles_on_train_scores_dev_compares_on_test_and_saves(
    env: Path, student: ScriptedURL, capsys: pytest.CaptureFixture[str]
) -> None:
    student.app.state.seen.clear()
    assert compile_step.main([]) == 0
    out = capsys.readouterr().out
    variant = env / "compiled" / "scripted" / "variants" / "selector-labeled.json"
    meta = json.loads(variant.with_suffix(".meta.json").read_text())
    assert meta["agent"] == "kitchen" and meta["train_examples"] == 24 and meta["dev_examples"] == 12
    # LabeledFewShot's demos are train rows only; the test rows are only run in the table.
    demos = json.loads(variant.read_text())["select"]["demos"]
    assert len(demos) == 12 and {d["question"] for d in demos} <= kitchen_split("train")
    table = meta["test_table"]
    assert [r["variant"] for r in table] == ["uncompiled (zero-shot)", "compiled now (labeled)",
                                             "native tool calling (bind_tools)"]  # fmt: skip
    assert all(r["n"] == 24 for r in table)
    assert "Test rows (24, never used to compile or choose)" in out and "| compiled now (labeled) |" in out
    assert "programs of agent kitchen (" in out and "/kitchen/compiled): selector " in out
    assert variant.with_suffix(".md").read_text().startswith("Command: `optimize ` (agent kitchen)")
    # Every test-row question the model saw came from the table, after the compile.
    assert kitchen_split("test") <= set(questions(student))


def test_a_program_that_does_not_win_on_dev_is_saved_but_not_active(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scores = iter([90.0, 50.0])  # before, after
    monkeypatch.setattr(compile_step, "score", lambda *args: next(scores))
    assert compile_step.main(["--no-compare"]) == 0
    assert (env / "compiled" / "scripted" / "variants" / "selector-labeled.json").exists()
    assert not (env / "compiled" / "scripted" / "selector.json").exists()
    assert "zero-shot: nothing compiled for scripted" in store.status_line()


def test_a_winning_program_becomes_what_the_graph_runs_and_the_status_says_so(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scores = iter([40.0, 80.0])
    monkeypatch.setattr(compile_step, "score", lambda *args: next(scores))
    assert compile_step.main(["--no-compare"]) == 0
    assert (env / "compiled" / "scripted" / "selector.json").exists()
    assert store.program_status()["selector"] == "compiled (labeled) for scripted"
    program, how = store.load_program("selector", "scripted", store.compiled_dir())
    assert how == "compiled (labeled)" and len(program.select.demos) == 12  # type: ignore[attr-defined]


def test_an_active_program_in_an_older_format_is_one_line_and_a_new_compile_replaces_it(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = env / "compiled" / "scripted"
    folder.mkdir(parents=True)
    state = json.loads((KITCHEN / "compiled" / "qwen2.5-coder-1.5b" / "selector.json").read_text())
    for demo in state["select"]["demos"]:  # as demos were once saved: text the typed adapter cannot read
        demo["tools"] = json.dumps(demo["tools"])
        demo["conversation"] = "user: Calories in the minestrone?"
    (folder / "selector.json").write_text(json.dumps(state))
    from dspy_programs.selector_adapter import SELECTOR_FORMAT

    meta = {"optimizer": "labeled", "selector_config": dict(SELECTOR_FORMAT)}
    (folder / "selector.meta.json").write_text(json.dumps(meta))
    with pytest.raises(store.ProgramLoadError) as refused:
        store.load_program("selector", "scripted", store.compiled_dir())
    message = str(refused.value)
    assert message.startswith(str(folder / "selector.json")) and "compile it again with `optimize`" in message
    assert "\n" not in message
    assert store.program_status()["selector"] == (
        "compiled for scripted but it does not load: run `optimize --program selector`")  # fmt: skip
    scores = iter([40.0, 80.0])  # before, after; the old program is not scored
    monkeypatch.setattr(compile_step, "score", lambda *args: next(scores))
    assert compile_step.main(["--no-compare"]) == 0
    assert "the active program does not load" in capsys.readouterr().err
    program, how = store.load_program("selector", "scripted", store.compiled_dir())
    assert how == "compiled (labeled)" and len(program.select.demos) == 12  # type: ignore[attr-defined]


def test_the_teacher_bootstraps_and_the_student_is_scored(env: Path, student: ScriptedURL, teacher: ScriptedURL,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("TEACHER_BASE_URL", teacher)
    student.app.state.seen.clear()
    teacher.app.state.seen.clear()
    before = teacher.app.state.requests
    assert compile_step.main(["--optimizer", "bootstrap", "--teacher", "big-model", "--no-compare"]) == 0
    taught = questions(teacher)
    assert teacher.app.state.requests > before and taught
    assert set(taught) <= kitchen_split("train")  # the teacher ran the train rows, nothing else
    assert kitchen_split("dev") <= set(questions(student))  # the student was scored on dev
    assert not set(questions(student)) & kitchen_split("train")  # ... and never taught
    meta = json.loads((env / "compiled" / "scripted" / "variants" / "selector-bootstrap.meta.json").read_text())
    assert meta["settings"]["teacher"] == "big-model" and meta["teacher_lm_calls"] == len(taught)


def test_gepa_reflects_with_the_teacher(env: Path, student: ScriptedURL, teacher: ScriptedURL,
                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("TEACHER_BASE_URL", teacher)
    monkeypatch.setenv("TEACHER_MODEL", "big-model")
    before = teacher.app.state.requests
    student_before = student.app.state.requests
    assert compile_step.main(["--optimizer", "gepa", "--budget", "4", "--no-compare", "--no-activate"]) == 0
    # GEPA's rollouts run on the student; its reflection prompts (no selector role) go to the teacher.
    assert student.app.state.requests - student_before >= 12
    assert teacher.app.state.requests > before
    assert all(role != "selector" for role, _ in list(teacher.app.state.seen)[-(teacher.app.state.requests - before):])


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_dead_endpoint_stops_optimize_with_one_line(agent: Path, tmp_path: Path) -> None:
    port = closed_port()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT), "AGENT_CONFIG": str(agent / "agent.toml"),
           "LLM_BASE_URL": f"http://127.0.0.1:{port}/v1", "LLM_MODEL": "scripted", "DSPY_CACHE": "false",
           "HOME": str(tmp_path)}  # fmt: skip
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "offline.compile", "--optimizer", "gepa"], env=env,
                          capture_output=True, text=True, timeout=240, cwd=PROJECT_ROOT)  # fmt: skip
    assert done.returncode == 3, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("optimize: stopped after 5 consecutive failed model calls: ") and "onnect" in last
    assert time.monotonic() - started < 200
    assert not (agent / "compiled").exists()


BAD_ROWS = [
    '{"id": "ok-1", "question": "Set a timer for 5 minutes", '
    '"expected_calls": [{"name": "set_timer", "args": {"minutes": 5}}]}',
    '{"id": "bad-tool", "question": "Book a table", "expected_calls": [{"name": "book_table", "args": {}}]}',
    '{"id": "bad-json", "question": "oops", ',
    '{"id": "bad-args", "question": "Timer", "expected_calls": [{"name": "set_timer", "args": {"minutes": "five"}}]}',
    '{"id": "no-question", "expected_calls": []}',
]  # fmt: skip


def test_bad_rows_get_one_line_each_exit_2_and_nothing_is_written(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = env / "rows.jsonl"
    data.write_text("\n".join(BAD_ROWS) + "\n")
    before = data.read_bytes()
    assert compile_step.main([]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("rows.jsonl:")]
    assert len(lines) == 4, err  # one line per bad row, in the file's order
    assert lines[0].startswith("rows.jsonl:2 id=bad-tool expected_calls[0]: unknown tool 'book_table'; tools: ")
    assert lines[1].startswith("rows.jsonl:3: bad JSON")
    assert lines[2] == "rows.jsonl:4 id=bad-args expected_calls[0]: invalid arguments: 'five' is not of type 'number'"
    assert lines[3] == "rows.jsonl:5 id=no-question question: missing"
    assert "id=ok-1" not in err and "Traceback" not in err
    assert not (env / "compiled").exists()
    for script in ("check.py", "make_splits.py"):  # the data check and the split writer say the same
        done = subprocess.run([sys.executable, str(PROJECT_ROOT / "datasets" / script)], capture_output=True, text=True,
                              env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT),
                                   "AGENT_CONFIG": str(env / "agent.toml")})  # fmt: skip
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "id=bad-tool expected_calls[0]: unknown tool" in done.stdout and "nothing was written" in done.stdout
    assert data.read_bytes() == before


def test_a_later_rounds_row_is_checked_field_by_field() -> None:
    from dspy_programs.tool_specs import ToolSpec
    from offline import rows

    specs = {rows.OWN_TOOLS: [ToolSpec(name="find_recipes", description="d",
                                       parameters={"type": "object", "properties": {"q": {"type": "string"}}})]}
    good = {"question": "and for four?", "expected_calls": [],
            "tool_results": [{"name": "find_recipes", "args": {"q": "soup"}, "output": "[...]"}]}
    assert rows.check_row(good, specs) == []
    for results in ("soup", [{"name": "find_recipes", "args": {}}],
                    [{"name": "find_recipes", "args": {}, "output": "x", "error": "y"}]):
        assert rows.check_row({**good, "tool_results": results}, specs)[0][0] == "tool_results"


def test_rows_without_a_split_are_dealt_so_every_kind_is_in_every_split(env: Path) -> None:
    loaded = rows.load(agent_config())
    assert not any("split" in json.loads(line) for line in (env / "rows.jsonl").read_text().splitlines())
    assert rows.missing_kinds(loaded) == []
    again = rows.load(agent_config())
    assert [r["split"] for r in loaded.rows] == [r["split"] for r in again.rows]  # seeded
    # The smallest set that can: three rows of a kind put one in each split.
    three = [json.loads(line) for line in (env / "rows.jsonl").read_text().splitlines()]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for row in three:
        by_kind.setdefault(rows.kind(row), []).append(row)
    (env / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for group in by_kind.values() for r in group[:3]))
    assert rows.missing_kinds(rows.load(agent_config())) == []


def test_optimize_warns_on_unreviewed_rows(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = env / "rows.jsonl"
    lines = data.read_text().splitlines()
    first = {**json.loads(lines[0]), "reviewed": False}
    data.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    assert compile_step.main(["--no-compare", "--no-activate"]) == 0
    assert "1 row(s) are drafts nobody has reviewed" in capsys.readouterr().err


def test_a_model_with_nothing_compiled_runs_zero_shot_and_says_what_to_do(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_MODEL", "my-own-model")
    get_settings.cache_clear()
    status = store.program_status()
    assert status["selector"] == "zero-shot: nothing compiled for my-own-model: run `optimize --program selector`"
    assert "selector zero-shot: nothing compiled for my-own-model" in store.status_line()


def test_the_graph_serves_the_configured_tools_and_logs_which_program_runs(
    env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from graphs.agent import build_graph

    with caplog.at_level("INFO", logger="agent"):
        graph = build_graph()
    assert {"run_find_recipes", "run_set_timer"} <= set(graph.nodes)
    assert any("): selector zero-shot: nothing compiled for scripted" in r.message for r in caplog.records)


def test_agent_toml_mistakes_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "agent.toml"
    bad.write_text('[agent]\ntools = "x.py:TOOLS"\ndatta = "rows.jsonl"\n')
    with pytest.raises(AgentConfigError, match=r"agent.toml: \[agent\] datta: Extra inputs are not permitted"):
        read_config(bad)
    bad.write_text('[agent]\n[agent.models]\nplanner = "gpt-4o"\n')
    with pytest.raises(AgentConfigError, match="unknown roles"):
        read_config(bad)
    with pytest.raises(AgentConfigError, match="no such agent description"):
        read_config(tmp_path / "missing.toml")


def test_draft_rows_keeps_valid_drafts_marked_unreviewed(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from offline import draft_rows
    from testkit.scripted_lm import ScriptedLM

    def script(role: str, fields: dict[str, str]) -> dict[str, Any]:
        kind = fields.get("kind", "")
        if kind.startswith(("none", "near_miss")):
            return {"rows": json.dumps([{"question": "Which wine goes with pad thai?", "expected_calls": []}])}
        return {"rows": json.dumps([
            {"question": "Start a 7 minute timer", "history": [], "expected_calls": [
                {"name": "set_timer", "args": {"minutes": 7}}]},
            {"question": "Book me a table", "history": [], "expected_calls": [
                {"name": "book_table", "args": {}}]},  # not one of the tools: dropped
        ])}  # fmt: skip

    monkeypatch.setattr(draft_rows, "dspy_lm", lambda role: ScriptedLM(script))
    # ScriptedLM's answers do not survive LM.copy(); the breaker's own tests use the scripted server.
    monkeypatch.setattr(draft_rows.Breaker, "guard", lambda self, lm: lm)
    out = env / "drafts.jsonl"
    assert draft_rows.main(["--out", str(out)]) == 0
    drafted = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(drafted) == 3 + 2  # single, multi, followup: one valid each; none, near_miss: one each
    assert all(r["reviewed"] is False for r in drafted)
    assert draft_rows.main(["--out", str(out)]) == 2  # never overwrites a draft


def test_optimize_help_fits_one_screen() -> None:
    done = subprocess.run([sys.executable, "-m", "offline.compile", "--help"], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT), "COLUMNS": "100"})  # fmt: skip
    assert done.returncode == 0 and len(done.stdout.splitlines()) <= 40


def test_every_command_of_the_walkthrough_runs_or_shows_its_help() -> None:
    """docs/make-it-yours.md's commands: the entry points answer --help (their real runs are in
    tests/e2e/test_make_it_yours.py); `python datasets/...` scripts are run there too."""
    import re
    import tomllib

    scripts = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    text = (PROJECT_ROOT / "docs" / "make-it-yours.md").read_text()
    named = set(re.findall(r"\.venv/bin/([a-z-]+)", text))
    assert {"optimize", "agent-up", "ask", "draft-rows"} <= named
    for name in sorted(named - {"python"}):
        module, function = scripts[name].split(":")
        done = subprocess.run([sys.executable, "-c", f"import sys; from {module} import {function} as main; "
                               f"sys.argv = [{name!r}, '--help']; main()"], capture_output=True, text=True,
                              env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT)}, timeout=120)  # fmt: skip
        assert done.returncode == 0 and "usage:" in done.stdout, (name, done.stderr[-1000:])


def test_each_optimizer_gets_the_teacher_in_its_own_role() -> None:
    """MIPROv2 proposes with the teacher (prompt_model) and runs trials on the student (task_model);
    BootstrapFewShot's traces come from the teacher; GEPA reflects with it. The calls themselves are
    checked above for BootstrapFewShot and GEPA (the scripted server cannot answer MIPROv2's proposer)."""
    import argparse

    import dspy

    student_lm, teacher_lm = dspy.LM("openai/student"), dspy.LM("openai/teacher")
    args = argparse.Namespace(demos=4, budget=4, threads=1, seed=2026)
    mipro = compile_step.make_optimizer("mipro", compile_step.selection_metric, args, student_lm, teacher_lm)
    assert mipro.prompt_model is teacher_lm and mipro.task_model is student_lm
    assert mipro.teacher_settings == {"lm": teacher_lm}
    bootstrap = compile_step.make_optimizer("bootstrap", compile_step.selection_metric, args, student_lm, teacher_lm)
    assert bootstrap.teacher_settings == {"lm": teacher_lm}
    gepa = compile_step.make_optimizer("gepa", compile_step.selection_metric, args, student_lm, teacher_lm)
    assert gepa.reflection_lm is teacher_lm


def dev_run(tmp_path: Path, before: float | None, after: float, active: float | None) -> compile_step.Run:
    return compile_step.Run("selector", "scripted", tmp_path, [], [], [], "h", before=before, after=after,
                            active_dev=active)  # fmt: skip


def test_a_dev_tie_with_the_uncompiled_program_activates_a_tie_with_the_active_one_does_not(tmp_path: Path) -> None:
    assert compile_step.wins_on_dev(dev_run(tmp_path, 76.92, 76.92, None))  # a dozen dev rows: ties are common
    assert not compile_step.wins_on_dev(dev_run(tmp_path, 76.92, 70.0, None))
    assert not compile_step.wins_on_dev(dev_run(tmp_path, 70.0, 80.0, 80.0))  # the active program stays
    assert compile_step.wins_on_dev(dev_run(tmp_path, 70.0, 85.0, 80.0))


def test_a_compile_that_did_not_win_says_why_and_how_to_serve_it(tmp_path: Path) -> None:
    variant = tmp_path / "scripted" / "variants" / "selector-labeled.json"
    reason = compile_step.not_active_reason(dev_run(tmp_path, 80.0, 75.0, None), variant)
    assert reason.startswith("not active: it scored 75.0 on dev against the uncompiled program's 80.0; ")
    assert "copy selector-labeled.json and selector-labeled.meta.json over selector.json and selector.meta.json" \
        in reason and str(tmp_path / "scripted") in reason  # fmt: skip
    reason = compile_step.not_active_reason(dev_run(tmp_path, 70.0, 80.0, 82.0), variant)
    assert "against the active program's 82.0" in reason


def test_a_role_with_only_variants_that_lost_is_not_told_to_run_optimize_again(tmp_path: Path) -> None:
    folder = tmp_path / "scripted" / "variants"
    folder.mkdir(parents=True)
    assert store.role_status("selector", "scripted", tmp_path).endswith("run `optimize --program selector`")
    (folder / "selector-labeled.json").write_text("{}")
    status = store.role_status("selector", "scripted", tmp_path)
    assert status.startswith("zero-shot: nothing active for scripted (compiled variants")
    assert "run `optimize" not in status


def test_every_schema_error_of_a_call_is_in_its_one_line() -> None:
    from dspy_programs.tool_specs import ToolSpec

    room = ToolSpec(name="room_availability", description="d", parameters={
        "type": "object", "required": ["room", "day", "start_time"],
        "properties": {"room": {"enum": ["harbor", "summit"]}, "day": {"type": "string"},
                       "start_time": {"type": "string"}}})  # fmt: skip
    row = {"question": "Is the boardroom free?",
           "expected_calls": [{"name": "room_availability", "args": {"room": "boardroom", "day": "2026-03-11"}}]}
    problems = rows.check_row(row, {rows.OWN_TOOLS: [room]})
    assert len(problems) == 1
    where, reason = problems[0]
    assert where == "expected_calls[0]" and reason.startswith("invalid arguments: ")
    assert "'start_time' is a required property" in reason and "'boardroom' is not one of" in reason
