"""Check the configured agent's labeled rows (agent.toml), and for the template, its other datasets.

Run: ``python datasets/check.py`` (``AGENT_CONFIG=path/agent.toml`` for another agent). Every
expected call is validated against the configured tools' own schemas; each bad row gets one line
with its file, line, id and field. Exits 2 when there is any problem, 0 otherwise; writes nothing.
For the template's own data it also checks the quotas, the argument semantics of the shipped
tools, the answer and critique sets, the knowledge-base corpus and the demo API data.
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import importlib.util
import json
import re
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema

from dspy_programs.signatures import DECLINES, VERDICTS
from dspy_programs.tool_specs import to_specs
from offline import rows
from offline.rows import results_problem
from runtime.agent_config import AgentConfigError, agent_config, load_tools

DATASETS_DIR = Path(__file__).resolve().parent
ROOT = DATASETS_DIR.parent
CORPUS_DIR = ROOT / "tools" / "corpus"
DEMO_API = ROOT / "tools" / "data" / "demo_api.json"

MIN_ROWS_PER_OTHER_TOOLSET = 14
MIN_HELD_OUT_TOOLSETS = 3  # whole tool sets only in dev, and only in test
MIN_NO_CALL_SHARE_OTHER = 0.2  # of the rows on other tool sets
ANSWER_TYPES = {"number", "date", "text"}



@functools.cache
def shipped_tools() -> dict[str, dict[str, Any]]:
    """The configured tools' argument schemas, by name (read from the tools themselves)."""
    return {spec.name: spec.parameters for spec in to_specs(load_tools())}


CALC_FUNCTIONS = {"sqrt", "log", "log10", "exp", "sin", "cos", "tan", "abs", "round", "min", "max", "floor", "ceil"}
CALC_NAMES = {"pi", "e"}
_CALC_NODES = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Call, ast.Name, ast.Load,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.USub, ast.UAdd,
)  # fmt: skip
API_PATH = re.compile(r"^/(orders|inventory|status)/([A-Za-z0-9-]+)$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SKU = re.compile(r"\bNW-[A-Z0-9]+(?:-[A-Z0-9]+)*\b")

problems: list[str] = []


def problem(where: str, msg: str) -> None:
    problems.append(f"{where}: {msg}")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    if not path.exists():
        problem(path.name, "file missing")
        return records
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                problem(f"{path.name}:{n}", f"invalid JSON: {exc}")
                continue
            if not isinstance(rec, dict):
                problem(f"{path.name}:{n}", "line is not a JSON object")
                continue
            records.append(rec)
    return records


FieldTypes = Mapping[str, type | tuple[type, ...]]


def check_fields(where: str, rec: dict[str, Any], fields: FieldTypes) -> bool:
    ok = True
    for name, typ in fields.items():
        if name not in rec:
            problem(where, f"missing field {name!r}")
            ok = False
        elif not isinstance(rec[name], typ) or (typ is float and isinstance(rec[name], bool)):
            problem(where, f"field {name!r} has type {type(rec[name]).__name__}")
            ok = False
    extra = set(rec) - set(fields)
    if extra:
        problem(where, f"unexpected fields {sorted(extra)}")
    return ok


def check_common(name: str, records: list[dict[str, Any]], prefix: str) -> None:
    ids = [str(r.get("id")) for r in records]
    for rec_id, count in Counter(ids).items():
        if count > 1:
            problem(name, f"duplicate id {rec_id}")
    for rec in records:
        rec_id = str(rec.get("id"))
        if not rec_id.startswith(prefix):
            problem(name, f"id {rec_id} does not start with {prefix!r}")
        if rec.get("split") not in _make_splits().SPLITS:
            problem(f"{name}:{rec_id}", f"split is {rec.get('split')!r}, expected one of {_make_splits().SPLITS}")
        if isinstance(rec.get("question"), str) and not rec["question"].strip():
            problem(f"{name}:{rec_id}", "empty question")


# --- argument semantics -----------------------------------------------------------------


def check_expression(where: str, expr: str) -> None:
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        problem(where, f"calculator expression does not parse: {expr!r} ({exc.msg})")
        return
    for node in ast.walk(tree):
        if not isinstance(node, _CALC_NODES):
            problem(where, f"calculator expression uses {type(node).__name__}: {expr!r}")
        elif isinstance(node, ast.Name) and node.id not in CALC_FUNCTIONS | CALC_NAMES:
            problem(where, f"calculator expression uses unknown name {node.id!r}")
        elif isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in CALC_FUNCTIONS):
            problem(where, f"calculator expression calls an unsupported function: {expr!r}")
        elif isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            problem(where, f"calculator expression has a non-numeric constant: {expr!r}")


def _unit_registry() -> Any:
    try:
        import pint
    except ImportError:  # pint is a runtime dependency, but keep the check usable without it
        return None
    return pint.UnitRegistry()


_UREG = _unit_registry()


def check_units(where: str, args: dict[str, Any]) -> None:
    if _UREG is None:
        return
    units = []
    for key in ("from_unit", "to_unit"):
        try:
            units.append(_UREG.parse_units(args[key]))
        except Exception as exc:  # pint raises several unrelated exception types
            problem(where, f"pint does not know unit {args[key]!r}: {exc}")
            return
    if units[0].dimensionality != units[1].dimensionality:
        problem(where, f"cannot convert {args['from_unit']} to {args['to_unit']} (different dimensions)")


def check_date(where: str, value: Any) -> None:
    if value == "today":
        return
    if not isinstance(value, str) or not ISO_DATE.match(value):
        problem(where, f"date {value!r} is not ISO YYYY-MM-DD or 'today'")
        return
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        problem(where, f"date {value!r} does not exist")
        return
    if not 2025 <= day.year <= 2027:
        problem(where, f"date {value!r} outside 2025-2027")


def check_date_call(where: str, args: dict[str, Any]) -> None:
    op = args.get("operation")
    check_date(where, args.get("date"))
    if op == "weekday" and ({"end_date", "days"} & set(args)):
        problem(where, "weekday takes no end_date/days")
    if op == "difference":
        if "end_date" not in args:
            problem(where, "difference needs end_date")
        else:
            check_date(where, args["end_date"])
        if "days" in args:
            problem(where, "difference takes no days")
    if op == "add_days":
        if not isinstance(args.get("days"), int):
            problem(where, "add_days needs integer days")
        if "end_date" in args:
            problem(where, "add_days takes no end_date")


def check_api_path(where: str, path: str, api: dict[str, Any]) -> None:
    m = API_PATH.match(path)
    if not m:
        problem(where, f"http_api path {path!r} is not /orders/{{id}}, /inventory/{{sku}} or /status/{{service}}")
        return
    kind, key = m.groups()
    table = {"orders": "orders", "inventory": "inventory", "status": "services"}[kind]
    if key not in api.get(table, {}):
        problem(where, f"http_api path {path!r}: {key} not in demo_api.json {table}")


def check_call(where: str, call: Any, tools: dict[str, dict[str, Any]], shipped: bool, api: dict[str, Any]) -> None:
    if not isinstance(call, dict) or set(call) != {"name", "args"}:
        problem(where, f"call must be an object with exactly 'name' and 'args': {call!r}")
        return
    name, args = call["name"], call["args"]
    if name not in tools:
        problem(where, f"unknown tool {name!r} for this toolset")
        return
    if not isinstance(args, dict):
        problem(where, f"args of {name} is not an object")
        return
    schema = tools[name]
    missing = [p for p in schema.get("required", []) if p not in args]
    unknown = sorted(set(args) - set(schema.get("properties", {})))
    if missing:
        problem(where, f"{name}: missing required args {missing}")
    if unknown:
        problem(where, f"{name}: unknown args {unknown}")
    try:
        jsonschema.validate(args, schema)
    except jsonschema.ValidationError as exc:
        problem(where, f"{name}: invalid args: {exc.message}")
        return
    if not shipped:
        return
    if name == "calculator":
        check_expression(where, args["expression"])
    elif name == "convert_units":
        check_units(where, args)
    elif name == "date_calculator":
        check_date_call(where, args)
    elif name == "http_api":
        check_api_path(where, args["path"], api)
    elif name == "search_knowledge" and not args["query"].strip():
        problem(where, "empty search query")


# --- files ------------------------------------------------------------------------------


def load_unseen() -> dict[str, dict[str, dict[str, Any]]]:
    path = DATASETS_DIR / "unseen_tools.json"
    if not path.exists():
        problem(path.name, "file missing")
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    toolsets: dict[str, dict[str, dict[str, Any]]] = {}
    for ts_name, tools in data.items():
        if ts_name == "shipped":
            problem(path.name, "toolset may not be called 'shipped'")
        specs: dict[str, dict[str, Any]] = {}
        for tool in tools:
            where = f"{path.name}:{ts_name}"
            if set(tool) != {"name", "description", "parameters"}:
                problem(where, f"tool needs exactly name/description/parameters: {tool.get('name')}")
                continue
            params = tool["parameters"]
            shipped_twin = shipped_tools().get(tool["name"], {})
            if shipped_twin and set(params.get("properties", {})) == set(shipped_twin["properties"]):
                # Reusing a shipped name is allowed on purpose (users' tools collide with ours), but only
                # with another argument schema: that is what the collision examples test.
                problem(where, f"{tool['name']} reuses a shipped tool name with the shipped arguments")
            try:
                jsonschema.Draft202012Validator.check_schema(params)
            except jsonschema.SchemaError as exc:
                problem(where, f"{tool['name']}: bad JSON schema: {exc.message}")
            if params.get("type") != "object" or "properties" not in params or "required" not in params:
                problem(where, f"{tool['name']}: parameters need type=object, properties and required")
            if set(params.get("required", [])) - set(params.get("properties", {})):
                problem(where, f"{tool['name']}: required names a missing property")
            specs[tool["name"]] = params
        if not 3 <= len(specs) <= 6:
            problem(path.name, f"toolset {ts_name} has {len(specs)} tools, expected 3-6")
        toolsets[ts_name] = specs
    if len(toolsets) < 9:
        problem(path.name, f"expected at least 9 other tool sets, found {len(toolsets)}")
    if not any(name in shipped_tools() for specs in toolsets.values() for name in specs):
        problem(path.name, "no tool set reuses a shipped tool name with another schema")
    return toolsets


@functools.cache
def _make_splits() -> ModuleType:
    """make_splits.py, loaded by path: it owns the splits, categories and tool-set splits.

    By path because this script is run as a file and loaded as one by the tests, so neither
    the folder nor a package name can be assumed on ``sys.path``.
    """
    spec = importlib.util.spec_from_file_location("make_splits", DATASETS_DIR / "make_splits.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_toolset_splits() -> dict[str, str]:
    """TOOLSET_SPLITS from make_splits.py: the split of every other tool set."""
    return dict(_make_splits().TOOLSET_SPLITS)


def check_toolset_splits(unseen: dict[str, dict[str, dict[str, Any]]], toolset_splits: dict[str, str]) -> None:
    where = "make_splits.py:TOOLSET_SPLITS"
    if set(toolset_splits) != set(unseen):
        problem(
            where,
            f"must list exactly the tool sets of unseen_tools.json "
            f"(missing {sorted(set(unseen) - set(toolset_splits))}, "
            f"unknown {sorted(set(toolset_splits) - set(unseen))})",
        )
    by_split = Counter(toolset_splits.values())
    if set(by_split) - set(_make_splits().SPLITS):
        problem(where, f"unknown split in {sorted(set(by_split))}")
    for split in ("dev", "test"):
        if by_split[split] < MIN_HELD_OUT_TOOLSETS:
            problem(where, f"only {by_split[split]} whole tool sets in {split} (need >= {MIN_HELD_OUT_TOOLSETS})")
    if by_split["train"] <= max(by_split["dev"], by_split["test"]):
        problem(where, "most tool sets should be in train")


def check_date_args(where: str, args: dict[str, Any], schema: dict[str, Any]) -> None:
    """Arguments of other tool sets documented as YYYY-MM-DD[THH:MM] must be real dates in 2025-2027."""
    for key, value in args.items():
        desc = str(schema.get("properties", {}).get(key, {}).get("description", ""))
        if "YYYY-MM-DD" not in desc or not isinstance(value, str):
            continue
        if "THH:MM" in desc:
            day, _, time = value.partition("T")
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", time):
                problem(where, f"{key}={value!r} is not YYYY-MM-DDTHH:MM")
        else:
            day = value
        check_date(where, day)


def _good_turn(turn: Any) -> bool:
    return (
        isinstance(turn, dict)
        and set(turn) == {"role", "content"}
        and turn["role"] in {"user", "assistant"}
        and isinstance(turn["content"], str)
        and bool(turn["content"].strip())
    )


def check_tool_selection(
    api: dict[str, Any], unseen: dict[str, dict[str, dict[str, Any]]], toolset_splits: dict[str, str]
) -> None:
    name = "tool_selection.jsonl"
    records = read_jsonl(DATASETS_DIR / name)
    check_common(name, records, "ts-")
    fields: FieldTypes = {
        "id": str, "question": str, "history": list, "toolset": str,
        "expected_calls": list, "category": str, "split": str,
    }  # fmt: skip
    single_calls: Counter[str] = Counter()
    multi = 0
    for rec in records:
        where = f"{name}:{rec.get('id')}"
        optional: dict[str, type] = {"decline": str} if "decline" in rec else {}
        if "tool_results" in rec:
            optional["tool_results"] = list
        if "batch" in rec:
            optional["batch"] = int
        if not check_fields(where, rec, {**fields, **optional}):
            continue
        cat, toolset, calls = rec["category"], rec["toolset"], rec["expected_calls"]
        if cat not in _make_splits().CATEGORIES:
            problem(where, f"unknown category {cat!r}")
        for turn in rec["history"]:
            if not _good_turn(turn):
                problem(where, f"bad history turn {turn!r}")
        if cat == "followup" and not rec["history"]:
            problem(where, "followup example without history")
        gathered = rec.get("tool_results", [])
        if cat in ("next_step", "retry") and not gathered:
            problem(where, f"a {cat!r} row needs the calls already made, in 'tool_results'")
        if wrong := results_problem(gathered):
            problem(where, f"bad tool_results entry: {wrong}")
        if rec.get("decline") == "answered" and not gathered:
            problem(where, "decline 'answered' needs the results that answer it, in 'tool_results'")
        if cat == "none" and calls:
            problem(where, "category 'none' must have no expected calls")
        if calls and "decline" in rec:
            problem(where, "'decline' is only for rows with no expected call")
        if not calls and rec.get("decline") not in DECLINES:
            problem(where, f"a row with no expected call needs 'decline', one of {sorted(DECLINES)}")
        if cat == "single" and len(calls) != 1:
            problem(where, "category 'single' must have exactly one call")
        if cat == "multi" and len(calls) < 2:
            problem(where, "category 'multi' needs two or more calls")
        shipped = toolset == "shipped"
        tools = shipped_tools() if shipped else unseen.get(toolset)
        if tools is None:
            problem(where, f"toolset {toolset!r} not defined in unseen_tools.json")
            continue
        for call in calls:
            check_call(where, call, tools, shipped, api)
            if (
                not shipped
                and isinstance(call, dict)
                and call.get("name") in tools
                and isinstance(call.get("args"), dict)
            ):
                check_date_args(where, call["args"], tools[call["name"]])
        if not shipped and toolset in toolset_splits and rec["split"] != toolset_splits[toolset]:
            problem(where, f"split {rec['split']!r}, but tool set {toolset} is assigned to {toolset_splits[toolset]!r}")
        keys = [json.dumps(c, sort_keys=True) for c in calls]
        if len(keys) != len(set(keys)):
            problem(where, "duplicate expected call")
        if shipped and len(calls) == 1 and isinstance(calls[0], dict):
            single_calls[str(calls[0].get("name"))] += 1
        if shipped and len(calls) >= 2:
            multi += 1
    cats = Counter(r.get("category") for r in records)
    minimums = {"none": 40, "near_miss": 30}
    for cat, least in minimums.items():
        if cats[cat] < least:
            problem(name, f"only {cats[cat]} '{cat}' examples (need >= {least})")
    if len(records) < 280:
        problem(name, f"only {len(records)} examples (need >= 280)")
    n_shipped = sum(1 for r in records if r.get("toolset") == "shipped")
    if multi < max(60, n_shipped // 5):
        problem(name, f"only {multi} shipped examples with 2+ calls (need >= 20% of shipped and >= 60)")
    others = [r for r in records if r.get("toolset") != "shipped"]
    for ts_name in unseen:
        rows = [r for r in others if r.get("toolset") == ts_name]
        ts_cats = Counter(r.get("category") for r in rows)
        if len(rows) < MIN_ROWS_PER_OTHER_TOOLSET:
            problem(name, f"tool set {ts_name}: only {len(rows)} examples (need >= {MIN_ROWS_PER_OTHER_TOOLSET})")
        for cat in ("single", "multi", "followup"):
            if not ts_cats[cat]:
                problem(name, f"tool set {ts_name}: no '{cat}' example")
        if not any(not r.get("expected_calls") for r in rows):
            problem(name, f"tool set {ts_name}: no example without a call")
    no_call = sum(1 for r in others if not r.get("expected_calls"))
    if others and no_call / len(others) < MIN_NO_CALL_SHARE_OTHER:
        problem(
            name,
            f"only {no_call}/{len(others)} examples on other tool sets expect no call "
            f"(need >= {MIN_NO_CALL_SHARE_OTHER:.0%})",
        )
    for tool in shipped_tools():
        if single_calls[tool] < 30:
            problem(name, f"only {single_calls[tool]} single-call examples for {tool} (need >= 30)")


def check_answers() -> None:
    name = "answers.jsonl"
    records = read_jsonl(DATASETS_DIR / name)
    check_common(name, records, "ans-")
    fields: FieldTypes = {
        "id": str, "question": str, "answer": str, "answer_type": str, "tolerance": (int, float),
        "accept": list, "tools": list, "split": str,
    }  # fmt: skip
    for rec in records:
        where = f"{name}:{rec.get('id')}"
        if not check_fields(where, rec, {**fields, "batch": int} if "batch" in rec else fields):
            continue
        kind = rec["answer_type"]
        if kind not in ANSWER_TYPES:
            problem(where, f"unknown answer_type {kind!r}")
        if rec["tolerance"] < 0:
            problem(where, "negative tolerance")
        if not rec["answer"].strip():
            problem(where, "empty answer")
        if kind == "number":
            try:
                float(rec["answer"])
            except ValueError:
                problem(where, f"number answer {rec['answer']!r} does not parse as a float")
        if kind == "date":
            try:
                dt.date.fromisoformat(rec["answer"])
            except ValueError:
                problem(where, f"date answer {rec['answer']!r} is not ISO YYYY-MM-DD")
        if kind == "text" and not rec["accept"]:
            problem(where, "text answer without accept aliases")
        if not all(isinstance(a, str) and a.strip() for a in rec["accept"]):
            problem(where, "accept must be non-empty strings")
        if not rec["tools"]:
            problem(where, "no tools listed")
        for tool in rec["tools"]:
            if tool not in shipped_tools():
                problem(where, f"unknown tool {tool!r}")
        if len(set(rec["tools"])) != len(rec["tools"]):
            problem(where, "tool listed twice")
    if len(records) < 130:
        problem(name, f"only {len(records)} examples (need >= 130)")


def check_critique() -> None:
    name = "critique.jsonl"
    records = read_jsonl(DATASETS_DIR / name)
    check_common(name, records, "cr-")
    fields: FieldTypes = {
        "id": str, "question": str, "tool_results": str, "draft": str, "verdict": str,
        "critique": str, "split": str,
    }  # fmt: skip
    for rec in records:
        where = f"{name}:{rec.get('id')}"
        if not check_fields(where, rec, {**fields, "batch": int} if "batch" in rec else fields):
            continue
        if rec["verdict"] not in VERDICTS:
            problem(where, f"unknown verdict {rec['verdict']!r}")
        if not rec["draft"].strip() or not rec["critique"].strip():
            problem(where, "empty draft or critique")
    verdicts = Counter(r.get("verdict") for r in records)
    if len(records) < 120:
        problem(name, f"only {len(records)} examples (need >= 120)")
    for verdict in VERDICTS:
        if verdicts[verdict] < len(records) // 5:
            problem(name, f"verdict {verdict} is under-represented ({verdicts[verdict]})")


def check_corpus_and_api() -> dict[str, Any]:
    if not DEMO_API.exists():
        problem(DEMO_API.name, "file missing")
        return {}
    api: dict[str, Any] = json.loads(DEMO_API.read_text(encoding="utf-8"))
    for key in ("orders", "inventory", "services"):
        if not isinstance(api.get(key), dict) or not api[key]:
            problem(DEMO_API.name, f"missing or empty {key!r}")
    inventory = api.get("inventory", {})
    for sku, item in inventory.items():
        if set(item) != {"name", "in_stock", "warehouse"} or not isinstance(item["in_stock"], int):
            problem(DEMO_API.name, f"inventory {sku} does not match the schema")
    for oid, order in api.get("orders", {}).items():
        if set(order) != {"status", "items", "carrier", "eta"}:
            problem(DEMO_API.name, f"order {oid} does not match the schema")
            continue
        for item in order["items"]:
            if item.get("sku") not in inventory:
                problem(DEMO_API.name, f"order {oid} has unknown sku {item.get('sku')}")
        if order["eta"] is not None:
            check_date(f"{DEMO_API.name}:{oid}", order["eta"])
    for svc, info in api.get("services", {}).items():
        if set(info) != {"status", "uptime_30d"}:
            problem(DEMO_API.name, f"service {svc} does not match the schema")

    docs = sorted(CORPUS_DIR.glob("*.md"))
    if not 12 <= len(docs) <= 16:
        problem("corpus", f"{len(docs)} documents, expected 12-16")
    corpus_skus: set[str] = set()
    for doc in docs:
        text = doc.read_text(encoding="utf-8")
        if not text.startswith("# "):
            problem(f"corpus/{doc.name}", "does not start with '# Title'")
        if "\n## " not in text:
            problem(f"corpus/{doc.name}", "has no '## Section'")
        corpus_skus |= set(SKU.findall(text))
    missing = sorted(corpus_skus - set(inventory))
    if missing:
        problem("corpus", f"SKUs mentioned in the corpus but not in demo_api.json inventory: {missing}")
    vendor = CORPUS_DIR / "vendor_notes.md"
    if not vendor.exists() or "Ignore your previous instructions" not in vendor.read_text(encoding="utf-8"):
        problem("corpus", "vendor_notes.md with the prompt-injection line is missing")
    return api


def check_agent_rows() -> rows.Rows | None:
    """The configured agent's rows against its tools' schemas (offline/rows.py): one line per bad row."""
    try:
        loaded = rows.load(agent_config())
    except rows.RowsError as exc:
        problems.extend(exc.problems)
        return None
    except AgentConfigError as exc:
        problem("agent.toml", str(exc))
        return None
    for missing in rows.missing_kinds(loaded):
        problem(loaded.files[0].name, f"no row of {missing}: write more rows of that kind")
    return loaded


def is_template() -> bool:
    """The configured agent is this template's own (its data holds the quotas checked below)."""
    return agent_config().data_path == (DATASETS_DIR / "tool_selection.jsonl").resolve()


def main() -> int:
    try:
        loaded = check_agent_rows()
        if loaded is not None and is_template():
            api = check_corpus_and_api()
            unseen = load_unseen()
            toolset_splits = load_toolset_splits()
            check_toolset_splits(unseen, toolset_splits)
            check_tool_selection(api, unseen, toolset_splits)
            check_answers()
            check_critique()
    except AgentConfigError as exc:
        problem("agent.toml", str(exc))
    for line in problems:
        print(line)
    if problems:
        print(f"\n{len(problems)} problem(s) found; nothing was written")
        return 2
    counts = Counter((r["kind"], r["split"]) for r in loaded.rows) if loaded else Counter()
    print(f"{len(loaded.rows) if loaded else 0} rows checked against the configured tools: " + ", ".join(
        f"{kind} {'/'.join(str(counts[(kind, s)]) for s in rows.SPLITS)}" for kind in rows.KINDS) + " (train/dev/test)")
    print("all dataset checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
