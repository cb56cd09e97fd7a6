"""Assign a deterministic, stratified train/dev/test split to every dataset record.

Run from anywhere: ``python datasets/make_splits.py``. For an agent other than the template
(``AGENT_CONFIG=path/agent.toml``), its rows are checked against its tools first (any bad row:
one line each, exit 2, nothing written), then every row without a ``split`` gets the one
`optimize` would deal it (offline/rows.py: each kind of row, one call, several, a follow-up or
none, spread over train, dev and test with a fixed seed), written into its file so later rows
do not move it. For the template's own datasets: The split of a record depends only
on the seed, the record ids and the stratum of each record, never on an existing ``split``
field, so re-running the script rewrites the files unchanged (idempotent).

Method (systematic stratified sampling): records are grouped by stratum, each stratum is
shuffled with a seeded RNG, the strata are concatenated in sorted order, and the records
are dealt out along the repeating pattern train, test, dev, train, test. This gives 40/20/40
overall and keeps every stratum within one record of its 40/20/40 share.

Rows added after a file was first dealt carry a ``batch`` number (absent means 0). Each batch is
dealt after the ones before it, continuing the pattern, so adding rows never moves an earlier
row to another split (a row a compiled program learned from stays in train).

Tool selection is split in two ways. Rows on the shipped tools (``toolset == "shipped"``) are
dealt out as above, stratified by category. Rows on the other tool sets
(``unseen_tools.json``) are assigned by WHOLE tool set, from ``TOOLSET_SPLITS`` below: most
tool sets are in train, and the tool sets in dev and test have no row in train, so that
dev/test on them measure transfer to tool sets the selector was never compiled with.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from offline.rows import PATTERN, SEED, SPLITS  # the splits, the seed and the dealing pattern: defined there

# the template's tool-selection strata; the one list of its categories (check.py, stats.py)
# next_step and retry are later rounds: calls already made are in the row's `tool_results`.
CATEGORIES: tuple[str, ...] = ("single", "multi", "none", "near_miss", "followup", "next_step", "retry")
DATASETS_DIR = Path(__file__).resolve().parent

# Every tool set of unseen_tools.json goes to exactly one split, with all of its rows.
# dev tool sets drive model selection on unseen tools; test tool sets are only evaluated.
# Tool sets whose tools reuse a shipped tool's NAME with another argument schema are spread
# over all three splits (train: banking, hr_recruiting; dev: shop_support, sql_analytics;
# test: clinic_scheduling, shipment_tracking, code_hosting).
TOOLSET_SPLITS: dict[str, str] = {
    "travel": "train",
    "office": "train",
    "devops": "train",
    "banking": "train",
    "hr_recruiting": "train",
    "crm_sales": "train",
    "shop_support": "dev",
    "smart_home": "dev",
    "sql_analytics": "dev",
    "clinic_scheduling": "test",
    "shipment_tracking": "test",
    "code_hosting": "test",
}

Record = dict[str, Any]


def _tool_selection_stratum(rec: Record) -> str:
    return str(rec["category"])


def _answers_stratum(rec: Record) -> str:
    return f"{rec['tools'][0]}|{rec['answer_type']}"


def _critique_stratum(rec: Record) -> str:
    return str(rec["verdict"])


STRATA: dict[str, Callable[[Record], str]] = {
    "tool_selection.jsonl": _tool_selection_stratum,
    "answers.jsonl": _answers_stratum,
    "critique.jsonl": _critique_stratum,
}


def read_jsonl(path: Path) -> list[Record]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl(path: Path, records: list[Record]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


def assign_splits(records: list[Record], stratum_of: Callable[[Record], str], salt: str) -> dict[str, str]:
    """Return {record id: split} for the given records."""
    groups: dict[tuple[int, str], list[str]] = defaultdict(list)
    for rec in records:
        groups[(int(rec.get("batch", 0)), stratum_of(rec))].append(str(rec["id"]))
    ordered: list[str] = []
    for batch, stratum in sorted(groups):
        ids = sorted(groups[(batch, stratum)])
        random.Random(f"{SEED}:{salt}:{stratum}" if batch == 0 else f"{SEED}:{salt}:{batch}:{stratum}").shuffle(ids)
        ordered.extend(ids)
    return {rec_id: PATTERN[i % len(PATTERN)] for i, rec_id in enumerate(ordered)}


def toolset_splits(records: list[Record]) -> dict[str, str]:
    """{record id: split} for tool-selection rows on other tool sets: the split of their tool set."""
    known = set(json.loads((DATASETS_DIR / "unseen_tools.json").read_text(encoding="utf-8")))
    if known != set(TOOLSET_SPLITS):
        raise SystemExit(
            f"TOOLSET_SPLITS must name every tool set of unseen_tools.json exactly once: "
            f"missing {sorted(known - set(TOOLSET_SPLITS))}, unknown {sorted(set(TOOLSET_SPLITS) - known)}"
        )
    out: dict[str, str] = {}
    for rec in records:
        if rec["toolset"] not in TOOLSET_SPLITS:
            raise SystemExit(f"{rec['id']}: toolset {rec['toolset']!r} has no split in TOOLSET_SPLITS")
        out[str(rec["id"])] = TOOLSET_SPLITS[rec["toolset"]]
    return out


def split_file(name: str, stratum_of: Callable[[Record], str]) -> dict[str, int]:
    path = DATASETS_DIR / name
    records = read_jsonl(path)
    ids = [str(r["id"]) for r in records]
    if len(ids) != len(set(ids)):
        raise SystemExit(f"{name}: duplicate ids, cannot split")
    if name == "tool_selection.jsonl":
        shipped = [r for r in records if r["toolset"] == "shipped"]
        others = [r for r in records if r["toolset"] != "shipped"]
        splits = {**assign_splits(shipped, stratum_of, salt=name), **toolset_splits(others)}
    else:
        splits = assign_splits(records, stratum_of, salt=name)
    counts: dict[str, int] = defaultdict(int)
    out: list[Record] = []
    for rec in records:
        rec = {k: v for k, v in rec.items() if k != "split"}
        rec["split"] = splits[str(rec["id"])]
        counts[rec["split"]] += 1
        out.append(rec)
    write_jsonl(path, out)
    return dict(counts)


def split_agent_rows() -> int:
    """Write the dealt split into the configured agent's rows that have none; 2 on bad rows."""
    from offline import rows
    from runtime.agent_config import agent_config

    try:
        loaded = rows.load(agent_config())
    except rows.RowsError as exc:
        print("\n".join(exc.problems))
        print(f"{exc}; nothing was written")
        return 2
    parsed, _ = rows.read_rows(loaded.files)  # the rows as written, in the order rows.load read them
    pairs = list(zip(parsed, loaded.rows, strict=True))
    for path in loaded.files:
        write_jsonl(path, [{**rec, "split": row["split"]} for (name, _, rec), row in pairs if name == path.name])
    counts = {s: sum(r["split"] == s for r in loaded.rows) for s in SPLITS}
    print(f"{agent_config().data}: {len(loaded.rows)} rows ({', '.join(f'{s}={n}' for s, n in counts.items())})")
    return 0


def main() -> None:
    from runtime.agent_config import agent_config

    if agent_config().data_path != (DATASETS_DIR / "tool_selection.jsonl").resolve():
        raise SystemExit(split_agent_rows())
    for name, stratum_of in STRATA.items():
        counts = split_file(name, stratum_of)
        summary = ", ".join(f"{s}={counts.get(s, 0)}" for s in ("train", "dev", "test"))
        print(f"{name}: {sum(counts.values())} records ({summary})")


if __name__ == "__main__":
    main()
