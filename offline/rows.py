"""The configured agent's labeled rows: read, checked against its tools' schemas, split, as DSPy examples.

A row is the simplest thing a user would write, one JSON object per line:

    {"question": "...", "history": [{"role": "user", "content": "..."}, ...],
     "expected_calls": [{"name": "tool", "args": {...}}], "split": "train"}

`history` and `split` are optional (`expected_calls: []` means no tool is needed). A row for a later
round carries the calls already made in `tool_results`, each `{"name", "args", "output"}` or
`{"name", "args", "error"}`, and expects the next calls (a correction, the computation on a
passage's figures) or `[]` when those results already answer. Rows without a
`split` are dealt out with a fixed seed so every kind of row (one call, several calls, a follow-up,
no call) is in train, dev and test. `toolset` names another tool set of the agent's `toolsets`
file; `id`, `category`, `decline`, `reviewed` and `note` are optional too.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import dspy

from dspy_programs.tool_specs import ToolSpec, schema_errors, to_specs, validate_calls
from offline.data import selection_example
from runtime.agent_config import AgentConfig, agent_config, load_tools

SEED = 2026
SPLITS: tuple[str, ...] = ("train", "dev", "test")
# Each kind of row is dealt out along this pattern (40 % train, 20 % dev, 40 % test): three rows of
# a kind put one in each split.
PATTERN: tuple[str, ...] = ("train", "test", "dev", "train", "test")
KINDS: tuple[str, ...] = ("single", "multi", "followup", "none")
OWN_TOOLS = "shipped"  # the `toolset` of rows on the agent's own tools (the name the shipped data uses)
REQUIRED = ("question", "expected_calls")
OPTIONAL = ("id", "history", "tool_results", "split", "toolset", "category", "decline", "reviewed", "note", "answer",
            "batch")


class RowsError(ValueError):
    """The rows cannot be used: `problems` holds one line per bad row and field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the labeled rows")
        self.problems = problems


@dataclass(frozen=True)
class Rows:
    """The checked rows (each with its `id`, `kind` and `split`) and the tool sets they use."""

    rows: list[dict[str, Any]]
    toolsets: dict[str, list[ToolSpec]]
    files: list[Path]

    def split(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["split"] == name]

    @property
    def unreviewed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r.get("reviewed") is False]


def data_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(path.glob("*.jsonl"))
    return [path]


def kind(row: Mapping[str, Any]) -> str:
    calls = row.get("expected_calls") or []
    if not calls:
        return "none"
    if row.get("history"):
        return "followup"
    return "multi" if len(calls) > 1 else "single"


def agent_toolsets(config: AgentConfig) -> dict[str, list[ToolSpec]]:
    """The agent's own tools (`OWN_TOOLS`) and the other named tool sets of its `toolsets` file."""
    toolsets = {OWN_TOOLS: to_specs(load_tools(config))}
    if config.toolsets_path is not None:
        for name, tools in json.loads(config.toolsets_path.read_text(encoding="utf-8")).items():
            toolsets[name] = to_specs(tools)
    return toolsets


def _history_problem(history: Any) -> str | None:
    if not isinstance(history, list):
        return "must be a list of {role, content} turns"
    for i, turn in enumerate(history):
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant") \
                or not isinstance(turn.get("content"), str):  # fmt: skip
            return f"turn {i} must be {{\"role\": \"user\" | \"assistant\", \"content\": \"...\"}}"
    return None


def results_problem(results: Any) -> str | None:
    """What is wrong with a row's `tool_results` (the calls already made), or None (datasets/check.py too)."""
    if not isinstance(results, list):
        return "must be a list of calls already made"
    for i, res in enumerate(results):
        if not isinstance(res, dict) or not isinstance(res.get("name"), str) or not isinstance(res.get("args"), dict) \
                or set(res) not in ({"name", "args", "output"}, {"name", "args", "error"}) \
                or not isinstance(res.get("output", res.get("error")), str):  # fmt: skip
            return f"result {i} {res!r}: name, args and exactly one of output or error (a string)"
    return None


def check_row(row: Any, toolsets: Mapping[str, list[ToolSpec]]) -> list[tuple[str, str]]:
    """(field, problem) for each thing wrong with one row; [] when it is usable."""
    if not isinstance(row, dict):
        return [("row", "is not a JSON object")]
    problems = [(f, "missing") for f in REQUIRED if f not in row]
    problems += [(f, f"unknown field (fields: {', '.join(REQUIRED + OPTIONAL)})")
                 for f in row if f not in REQUIRED + OPTIONAL]  # fmt: skip
    if "question" in row and (not isinstance(row["question"], str) or not row["question"].strip()):
        problems.append(("question", "must be a non-empty string"))
    if "history" in row and (problem := _history_problem(row["history"])):
        problems.append(("history", problem))
    if "tool_results" in row and (problem := results_problem(row["tool_results"])):
        problems.append(("tool_results", problem))
    if "split" in row and row["split"] not in SPLITS:
        problems.append(("split", f"must be one of {', '.join(SPLITS)}, not {row['split']!r}"))
    toolset = row.get("toolset", OWN_TOOLS)
    if toolset not in toolsets:
        problems.append(("toolset", f"unknown tool set {toolset!r}; known: {', '.join(toolsets)}"))
        return problems
    calls = row.get("expected_calls")
    if "expected_calls" in row and not isinstance(calls, list):
        problems.append(("expected_calls", "must be a list of {\"name\", \"args\"} ([] for no tool)"))
    elif isinstance(calls, list):
        for i, call in enumerate(calls):
            where = f"expected_calls[{i}]"
            if not isinstance(call, dict) or "name" not in call or set(call) - {"name", "args"}:
                problems.append((where, 'must be {"name": "<tool>", "args": {...}}'))
                continue
            _, rejected = validate_calls([{"name": call["name"], "args": call.get("args", {})}], toolsets[toolset])
            if rejected:
                reason = rejected[0].reason
                if reason == "unknown tool":
                    reason = f"unknown tool {call['name']!r}; tools: {', '.join(s.name for s in toolsets[toolset])}"
                elif reason.startswith("invalid arguments: "):  # all of them, so one pass fixes the row
                    spec = next(s for s in toolsets[toolset] if s.name == call["name"])
                    reason = "invalid arguments: " + "; ".join(schema_errors(call.get("args", {}), spec))
                problems.append((where, reason))
    return problems


Problem: TypeAlias = tuple[str, int, str]  # (file name, line number, message)


def read_rows(files: Iterable[Path]) -> tuple[list[tuple[str, int, Any]], list[Problem]]:
    """(file name, line number, parsed row) for each non-blank line, and one problem per bad JSON line."""
    parsed: list[tuple[str, int, Any]] = []
    problems: list[Problem] = []
    for file in files:
        if not file.exists():
            problems.append((file.name, 0, f"{file}: no such file (agent.toml's `data`)"))
            continue
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                parsed.append((file.name, number, json.loads(line)))
            except json.JSONDecodeError as exc:
                problems.append((file.name, number, f"{file.name}:{number}: bad JSON: {exc.msg} (column {exc.colno})"))
    return parsed, problems


def deal_splits(rows: list[dict[str, Any]], seed: int = SEED) -> dict[str, str]:
    """{id: split} for rows without a split: each kind shuffled with the seed, then dealt along PATTERN."""
    groups: dict[str, list[str]] = {}
    for row in rows:
        groups.setdefault(row["kind"], []).append(row["id"])
    out: dict[str, str] = {}
    for group, ids in sorted(groups.items()):
        ids = sorted(ids)
        random.Random(f"{seed}:{group}").shuffle(ids)
        out.update({row_id: PATTERN[i % len(PATTERN)] for i, row_id in enumerate(ids)})
    return out


def load(config: AgentConfig, seed: int = SEED) -> Rows:
    """Every row of the agent's data, checked; raises RowsError listing each bad row and field."""
    files = data_files(config.data_path)
    toolsets = agent_toolsets(config)
    parsed, found = read_rows(files)
    rows: list[dict[str, Any]] = []
    for file, number, row in parsed:
        row_id = str(row.get("id")) if isinstance(row, dict) and row.get("id") else f"{Path(file).stem}-{number}"
        found += [(file, number, f"{file}:{number} id={row_id} {field}: {problem}")
                  for field, problem in check_row(row, toolsets)]  # fmt: skip
        if isinstance(row, dict):
            rows.append({**row, "id": row_id, "kind": kind(row)})
    order = {f.name: i for i, f in enumerate(files)}
    problems = [text for _, _, text in sorted(found, key=lambda p: (order.get(p[0], -1), p[1]))]  # in file order
    duplicates = [i for i, n in Counter(r["id"] for r in rows).items() if n > 1]
    problems += [f"id={i}: duplicate id" for i in duplicates]
    if problems:
        raise RowsError(problems)
    dealt = deal_splits([r for r in rows if "split" not in r], seed)
    for row in rows:
        row.setdefault("split", dealt.get(row["id"]))
    return Rows(rows, toolsets, files)


def examples(rows: Rows, split: str | None) -> list[dspy.Example]:
    """The rows of one split (None: all) as tool-selection examples, in the fields the selector reads."""
    out = []
    for row in rows.rows:
        if split and row["split"] != split:
            continue
        toolset = row.get("toolset", OWN_TOOLS)
        out.append(selection_example({**row, "toolset": toolset}, rows.toolsets[toolset],
                                     row.get("category") or row["kind"]))  # fmt: skip
    return out


def missing_kinds(rows: Rows) -> list[str]:
    """'<kind> in <split>' for each kind of row the data has that a split lacks."""
    present = {(r["kind"], r["split"]) for r in rows.rows}
    kinds = sorted({r["kind"] for r in rows.rows}, key=KINDS.index)
    return [f"{k} in {s}" for k in kinds for s in SPLITS if (k, s) not in present]


def agent_examples(split: str | None, config: AgentConfig | None = None) -> list[dspy.Example]:
    """The configured agent's examples of a split; `dev-unseen`/`test-unseen` keep the rows on other
    tool sets than the agent's own (for the template: the data's held-out tool sets)."""
    base = split.removesuffix("-unseen") if split else None
    out = examples(load(config or agent_config()), base)
    return [ex for ex in out if ex.toolset != OWN_TOOLS] if split and split.endswith("-unseen") else out
