"""`draft-rows`: a model drafts labeled rows for the configured tools, into a file a person reviews.

    draft-rows                      # 6 rows of each kind, with the teacher (or the serving) model
    draft-rows --per-kind 10 --out drafts.jsonl

Kinds: one call, several calls, a follow-up (with a short history), no tool needed, and near
misses (a question on a tool's subject that no tool can answer: no call). Every drafted call is
validated against the tools' own schemas; rows that fail are dropped and counted. Each row is
written with `"reviewed": false`: `optimize` warns while any such row is in the data. Review
each one (fix or delete it), set `"reviewed": true`, and append the file to your rows.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Literal

import dspy
from pydantic import BaseModel, Field

from offline import rows
from offline.breaker import Breaker, EndpointDown
from offline.compile import teacher_lm
from runtime.agent_config import AgentConfig, AgentConfigError, agent_config
from runtime.bootstrap import configure
from runtime.models import dspy_lm, endpoint

KINDS: dict[str, str] = {
    "single": "a request that one call of one tool answers",
    "multi": "a request that needs two or more calls (of one tool or several)",
    "followup": "a short earlier conversation (history), then a follow-up request that needs a call and "
                "refers back to it ('double it', 'and for the other one?')",
    "none": "small talk, general knowledge or writing that needs no tool (expected_calls is [])",
    "near_miss": "a request on the same subject as a tool that no tool can actually do (expected_calls is [])",
}  # fmt: skip


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class Call(BaseModel):
    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class DraftedRow(BaseModel):
    question: str
    history: list[Turn] = Field(default_factory=list)
    expected_calls: list[Call] = Field(default_factory=list)


class DraftRows(dspy.Signature):
    """Write realistic, varied requests a user of these tools would type (different wording, lengths,
    typos, names and numbers), each with the exact tool calls that answer it, with arguments that
    follow each tool's JSON schema. Do not repeat the examples."""

    tools: str = dspy.InputField(desc="the tools, one JSON object per line: name, description, parameters")
    kind: str = dspy.InputField(desc="the kind of request to write")
    count: int = dspy.InputField(desc="how many rows to write")
    examples: str = dspy.InputField(desc="rows already written (JSON lines), to vary from")
    rows: list[DraftedRow] = dspy.OutputField()


def default_out(config: AgentConfig) -> Path:
    """A new file beside the agent's rows (a numbered name rather than overwrite an earlier draft)."""
    folder = config.data_path if config.data_path.is_dir() else config.data_path.parent
    for n in range(1, 1000):
        path = folder / f"drafted-{n}.unreviewed.jsonl"
        if not path.exists():
            return path
    raise SystemExit("draft-rows: too many draft files; review and remove some")


def draft(config: AgentConfig, per_kind: int, lm: dspy.LM) -> tuple[list[dict[str, Any]], int]:
    """(rows that validate against the tools, how many were dropped)."""
    toolsets = rows.agent_toolsets(config)
    tools = "\n".join(json.dumps({"name": t.name, "description": t.description, "parameters": t.parameters},
                                 ensure_ascii=False) for t in toolsets[rows.OWN_TOOLS])  # fmt: skip
    program = dspy.Predict(DraftRows)
    kept: list[dict[str, Any]] = []
    dropped = 0
    for kind, description in KINDS.items():
        seen = [json.dumps(r, ensure_ascii=False) for r in kept[-4:]]
        with dspy.context(lm=lm):
            out = program(tools=tools, kind=f"{kind}: {description}", count=per_kind, examples="\n".join(seen))
        for n, drafted in enumerate(out.rows or [], 1):
            row: dict[str, Any] = drafted.model_dump() if isinstance(drafted, BaseModel) else dict(drafted)
            if not row.get("history"):
                row.pop("history", None)
            if rows.check_row(row, toolsets) or (kind in ("none", "near_miss")) != (not row["expected_calls"]):
                dropped += 1
                continue
            kept.append({"id": f"draft-{kind}-{n}", **row, "reviewed": False, "note": f"drafted: {kind}"})
    return kept, dropped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="draft-rows", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--per-kind", type=int, default=6, help="rows of each kind to ask for (default 6)")
    parser.add_argument("--teacher", default="", help="the drafting model (default: TEACHER_MODEL, agent.toml's "
                                                      "teacher, or the serving model)")  # fmt: skip
    parser.add_argument("--out", default="", help="file to write (default: drafted-N.unreviewed.jsonl beside the rows)")
    args = parser.parse_args(argv)
    configure()
    breaker = Breaker()
    try:
        config = agent_config()
        lm = teacher_lm(args, config, endpoint("selector")) or dspy_lm("selector")
        out = Path(args.out) if args.out else default_out(config)
        if out.exists():
            print(f"draft-rows: {out} exists; name another file with --out", file=sys.stderr)
            return 2
        drafted, dropped = draft(config, args.per_kind, breaker.guard(lm))
    except AgentConfigError as exc:
        print(f"draft-rows: {exc}", file=sys.stderr)
        return 2
    except EndpointDown as exc:
        print(f"draft-rows: {exc}", file=sys.stderr)
        return 3
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in drafted), encoding="utf-8")
    print(f"draft-rows: {len(drafted)} rows written to {out} (unreviewed: check each one, then set "
          f"\"reviewed\": true); {dropped} drafted rows failed the tools' schemas and were dropped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
