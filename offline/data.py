"""The labeled datasets as DSPy examples, by split.

The split of every record is fixed in the data files (datasets/make_splits.py, seed 2026);
the compile step reads only train and dev, never test.

Tool selection rows are on the shipped tools (``toolset == "shipped"``) or on one of the other
tool sets of ``datasets/unseen_tools.json``. Other tool sets are split as WHOLE tool sets, so
the other-tool-set rows of dev and test are on tool sets with no row in train:

    selection_examples("train")                      # train, every tool set
    selection_examples("dev", toolsets="shipped")    # dev on the shipped tools
    selection_examples("dev-unseen")                 # dev on tool sets never in train
    selection_examples("test", toolsets="shipped")   # test on the shipped tools
    selection_examples("test-unseen")                # test on tool sets never in train
    selection_examples("test")                       # both test parts together (toolsets="all")
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import dspy

from dspy_programs.tool_specs import ToolSpec, to_specs
from nodes.prompting import format_results

DATASETS_DIR = Path(__file__).resolve().parent.parent / "datasets"
Split = Literal["train", "dev", "test"]
# Also accepted by selection_examples: dev/test restricted to the tool sets that have no row in train.
SelectionSplit = Literal["train", "dev", "test", "dev-unseen", "test-unseen"]
SELECTION_SPLITS: tuple[str, ...] = ("train", "dev", "test", "dev-unseen", "test-unseen")
Toolsets = Literal["all", "shipped", "other"]


def read_jsonl(name: str, root: Path = DATASETS_DIR) -> list[dict[str, Any]]:
    path = root / name
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def file_hash(name: str, root: Path = DATASETS_DIR) -> str:
    return hashlib.sha256((root / name).read_bytes()).hexdigest()[:16]


@lru_cache(maxsize=1)
def shipped_specs() -> tuple[ToolSpec, ...]:
    from tools import TOOLS

    return tuple(to_specs(TOOLS))


def toolset_specs(toolset: str, root: Path = DATASETS_DIR) -> list[ToolSpec]:
    if toolset == "shipped":
        return list(shipped_specs())
    unseen = json.loads((root / "unseen_tools.json").read_text())
    if toolset not in unseen:
        raise ValueError(f"unknown toolset {toolset!r}")
    return to_specs(unseen[toolset])


def _wanted_toolset(toolset: str, toolsets: Toolsets | Iterable[str]) -> bool:
    if toolsets == "all":
        return True
    if toolsets == "shipped":
        return toolset == "shipped"
    if toolsets == "other":
        return toolset != "shipped"
    if isinstance(toolsets, str):
        raise ValueError(
            f"toolsets must be 'all', 'shipped', 'other' or a collection of tool set names, not {toolsets!r}"
        )
    return toolset in set(toolsets)


def selection_examples(
    split: SelectionSplit | None, root: Path = DATASETS_DIR, toolsets: Toolsets | Iterable[str] = "all"
) -> list[dspy.Example]:
    """Tool-selection examples of one split (None: every split).

    ``toolsets`` keeps only the shipped tools' rows ("shipped"), only the other tool sets'
    rows ("other"), or the rows of the named tool sets; "all" (default) keeps every row of
    the split. ``"dev-unseen"``/``"test-unseen"`` are ``"dev"``/``"test"`` with
    ``toolsets="other"``: the tool sets that are held out of train as a whole.
    """
    if split and split not in SELECTION_SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {SELECTION_SPLITS}")
    if split in ("dev-unseen", "test-unseen"):
        if toolsets not in ("all", "other"):
            raise ValueError(f"{split} is already restricted to the other tool sets")
        split, toolsets = split.removesuffix("-unseen"), "other"  # type: ignore[assignment]
    offered: dict[str, list[ToolSpec]] = {}
    examples = []
    for row in read_jsonl("tool_selection.jsonl", root):
        if split and row.get("split") != split:
            continue
        toolset = row.get("toolset", "shipped")
        if not _wanted_toolset(toolset, toolsets):
            continue
        if toolset not in offered:
            offered[toolset] = toolset_specs(toolset, root)
        examples.append(selection_example(row, offered[toolset], str(row.get("category", ""))))
    return examples


def selection_example(row: dict[str, Any], specs: list[ToolSpec], category: str) -> dspy.Example:
    """One labeled selection row as the selector's typed inputs (and its labels): the template's rows
    and a user's rows (offline/rows.py) alike."""
    return dspy.Example(
        id=row["id"],
        question=row["question"],
        conversation=dspy.History(messages=list(row.get("history") or [])),
        # A later round's row holds the calls already made; the selector reads them as the graph writes them.
        tool_results=format_results(row.get("tool_results") or []),
        tools=list(specs),
        toolset=row.get("toolset", "shipped"),
        category=category,
        decline=row.get("decline", ""),
        expected_calls=row["expected_calls"],
        tool_calls={"tool_calls": row["expected_calls"]},
    ).with_inputs("question", "conversation", "tool_results", "tools")


def toolset_order(ex: dspy.Example) -> tuple[bool, str, str]:
    """Sort key grouping selection rows by tool set, the shipped tools first: run in this order, the
    server keeps each slot's prompt prefix (instructions, examples, tools) cached."""
    return ex.toolset != "shipped", str(ex.toolset), str(ex.id)


def answer_rows(split: Split | None, root: Path = DATASETS_DIR) -> list[dict[str, Any]]:
    return [r for r in read_jsonl("answers.jsonl", root) if not split or r.get("split") == split]


def critique_examples(split: Split | None, root: Path = DATASETS_DIR) -> list[dspy.Example]:
    return [
        dspy.Example(
            id=r["id"], question=r["question"], tool_results=r["tool_results"], draft=r["draft"],
            verdict=r["verdict"], critique=r["critique"],
        ).with_inputs("question", "tool_results", "draft")
        for r in read_jsonl("critique.jsonl", root)
        if not split or r.get("split") == split
    ]  # fmt: skip


def synthesis_examples(split: Split | None, root: Path = DATASETS_DIR) -> list[dspy.Example]:
    """Synthesizer examples: the critique drafts that were accepted are good answers to imitate."""
    return [
        dspy.Example(
            id=r["id"], question=r["question"], tool_results=r["tool_results"], conversation="", answer=r["draft"]
        ).with_inputs("question", "tool_results", "conversation")
        for r in read_jsonl("critique.jsonl", root)
        if r["verdict"] == "accept" and (not split or r.get("split") == split)
    ]
