"""Print the count tables of the configured agent's rows (and, for the template, its dataset card) as Markdown.

Run: ``python datasets/stats.py`` (``AGENT_CONFIG=path/agent.toml`` for another agent); for the
template, paste the output into datasets/README.md's "Counts" section.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from make_splits import CATEGORIES, SPLITS  # run as a file: this folder is on sys.path

from dspy_programs.signatures import DECLINES
from offline import rows as agent_rows
from runtime.agent_config import agent_config, load_tools

DATASETS_DIR = Path(__file__).resolve().parent
ROOT = DATASETS_DIR.parent


def read_jsonl(name: str) -> list[dict[str, Any]]:
    path = DATASETS_DIR / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def by_split(records: list[dict[str, Any]], key: str, order: Iterable[str] | None = None) -> str:
    counts = Counter((str(r[key]), r.get("split", "?")) for r in records)
    values = list(order) if order else sorted({str(r[key]) for r in records})
    rows = [[v, *(counts[(v, s)] for s in SPLITS), sum(counts[(v, s)] for s in SPLITS)] for v in values]
    totals = Counter(r.get("split", "?") for r in records)
    rows.append(["**total**", *(totals[s] for s in SPLITS), len(records)])
    return table([key, *SPLITS, "all"], rows)


def tool_table(records: list[dict[str, Any]], tools: Iterable[str]) -> str:
    rows = []
    names = [[c["name"] for c in r["expected_calls"]] for r in records]
    for tool in tools:
        single = sum(1 for n in names if n == [tool])
        in_multi = sum(1 for n in names if len(n) > 1 and tool in n)
        rows.append([tool, single, in_multi, sum(n.count(tool) for n in names)])
    return table(["tool", "single-call examples", "multi-call examples using it", "expected calls"], rows)


def agent_stats(loaded: agent_rows.Rows, tools: list[str]) -> None:
    """Any agent's rows: kind of row by split (`kind`: one call, several, a follow-up, none), and per tool."""
    print(f"### {agent_config().name}: kind of row by split\n")
    print(by_split(loaded.rows, "kind", agent_rows.KINDS))
    print(f"\n### {agent_config().name}: the agent's tools\n")
    print(tool_table([r for r in loaded.rows if r.get("toolset", agent_rows.OWN_TOOLS) == agent_rows.OWN_TOOLS], tools))
    if loaded.unreviewed:
        print(f"\n{len(loaded.unreviewed)} rows are unreviewed drafts (\"reviewed\": false).")


def main() -> None:
    shipped = [tool.name for tool in load_tools()]
    loaded = agent_rows.load(agent_config())
    agent_stats(loaded, shipped)
    if agent_config().data_path != (DATASETS_DIR / "tool_selection.jsonl").resolve():
        return  # the tables below are the template's dataset card
    print()
    ts = read_jsonl("tool_selection.jsonl")
    ans = read_jsonl("answers.jsonl")
    cr = read_jsonl("critique.jsonl")

    print("### Records per file and split\n")
    rows = []
    for name, recs in (("tool_selection.jsonl", ts), ("answers.jsonl", ans), ("critique.jsonl", cr)):
        split = Counter(r.get("split", "?") for r in recs)
        rows.append([name, *(split[s] for s in SPLITS), len(recs)])
    print(table(["file", *SPLITS, "all"], rows))

    print("\n### tool_selection.jsonl: category by split\n")
    print(by_split(ts, "category", CATEGORIES))

    print("\n### tool_selection.jsonl: why no tool is needed (`decline`, rows with no expected call) by split\n")
    print(by_split([r for r in ts if not r["expected_calls"]], "decline", DECLINES))

    print("\n### tool_selection.jsonl: shipped vs other tool sets by split\n")
    for r in ts:
        r["tools"] = "shipped" if r["toolset"] == "shipped" else "other"
    print(by_split(ts, "tools", ["shipped", "other"]))

    print("\n### tool_selection.jsonl: shipped tools\n")
    print(tool_table([r for r in ts if r["toolset"] == "shipped"], shipped))
    n_calls = Counter(min(len(r["expected_calls"]), 3) for r in ts)
    multi_turn = sum(1 for r in ts if r["history"])
    several = n_calls[2] + n_calls[3]
    print(
        f"\nExpected calls per example: 0 calls = {n_calls[0]}, 1 call = {n_calls[1]}, 2+ calls = {several}"
        f" ({several / len(ts):.0%}; 3+ calls = {n_calls[3]}). "
        f"Multi-turn examples (non-empty history): {multi_turn} ({multi_turn / len(ts):.0%})."
    )

    print("\n### tool_selection.jsonl: tool sets\n")
    other_tools = json.loads((DATASETS_DIR / "unseen_tools.json").read_text(encoding="utf-8"))
    rows = []
    for toolset in ["shipped", *other_tools]:
        recs = [r for r in ts if r["toolset"] == toolset]
        tool_names: list[str] = [t["name"] for t in other_tools[toolset]] if toolset in other_tools else list(shipped)
        # A tool of another set with a shipped tool's name (but its own schema) is marked with *.
        tools = ", ".join(f"{n}*" if toolset != "shipped" and n in shipped else n for n in tool_names)
        splits = "/".join(s for s in SPLITS if any(r["split"] == s for r in recs))
        cats = Counter(r["category"] for r in recs)
        no_call = sum(1 for r in recs if not r["expected_calls"])
        rows.append([toolset, splits, tools, len(recs), *(cats[c] for c in CATEGORIES), no_call])
    print(table(["toolset", "split", "tools", "examples", *CATEGORIES, "no call"], rows))
    others = [r for r in ts if r["toolset"] != "shipped"]
    no_call = sum(1 for r in others if not r["expected_calls"])
    print(
        f"\n\\* reuses a shipped tool's name with a different argument schema. Other tool sets: "
        f"{len(other_tools)}, {len(others)} examples, {no_call} ({no_call / len(others):.0%}) expect no call."
    )

    print("\n### answers.jsonl: answer type by split\n")
    print(by_split(ans, "answer_type", ["number", "date", "text"]))
    print("\n### answers.jsonl: first expected tool by split\n")
    for r in ans:
        r["first_tool"] = r["tools"][0]
    print(by_split(ans, "first_tool", shipped))
    multi_tool = sum(1 for r in ans if len(r["tools"]) > 1)
    uses = Counter(t for r in ans for t in r["tools"])
    per_tool = ", ".join(f"{t} {uses[t]}" for t in shipped)
    print(f"\nQuestions needing two or more tools: {multi_tool}. Questions using each tool: {per_tool}.")

    print("\n### critique.jsonl: verdict by split\n")
    print(by_split(cr, "verdict", ["accept", "refine", "need_more_info"]))

    api = json.loads((ROOT / "tools" / "data" / "demo_api.json").read_text(encoding="utf-8"))
    docs = sorted(p.name for p in (ROOT / "tools" / "corpus").glob("*.md"))
    print(
        f"\nKnowledge base: {len(docs)} documents in tools/corpus/. Demo API: {len(api['orders'])} orders, "
        f"{len(api['inventory'])} SKUs, {len(api['services'])} services."
    )


if __name__ == "__main__":
    main()
