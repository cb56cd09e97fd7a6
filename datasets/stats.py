"""Print the count tables of the dataset card (datasets/README.md) as Markdown.

Run: ``python datasets/stats.py`` and paste the output into the README's "Counts" section.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from make_splits import CATEGORIES, SPLITS  # run as a file: this folder is on sys.path

from dspy_programs.signatures import DECLINES

DATASETS_DIR = Path(__file__).resolve().parent
ROOT = DATASETS_DIR.parent
SHIPPED = ("calculator", "convert_units", "date_calculator", "search_knowledge", "http_api")


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


def main() -> None:
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
    shipped = [r for r in ts if r["toolset"] == "shipped"]
    rows = []
    for tool in SHIPPED:
        names = [[c["name"] for c in r["expected_calls"]] for r in shipped]
        single = sum(1 for n in names if n == [tool])
        in_multi = sum(1 for n in names if len(n) > 1 and tool in n)
        total = sum(n.count(tool) for n in names)
        rows.append([tool, single, in_multi, total])
    print(table(["tool", "single-call examples", "multi-call examples using it", "expected calls"], rows))
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
        tool_names: list[str] = [t["name"] for t in other_tools[toolset]] if toolset in other_tools else list(SHIPPED)
        # A tool of another set with a shipped tool's name (but its own schema) is marked with *.
        tools = ", ".join(f"{n}*" if toolset != "shipped" and n in SHIPPED else n for n in tool_names)
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
    print(by_split(ans, "first_tool", SHIPPED))
    multi_tool = sum(1 for r in ans if len(r["tools"]) > 1)
    uses = Counter(t for r in ans for t in r["tools"])
    per_tool = ", ".join(f"{t} {uses[t]}" for t in SHIPPED)
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
