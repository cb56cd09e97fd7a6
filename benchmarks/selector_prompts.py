"""The exact requests the active selector sends, rendered for every row of a split with the scripted LM.

    python -m benchmarks.selector_prompts --out /tmp/prompts.json [--split dev]
    python -m benchmarks.selector_prompts --compare BEFORE.json AFTER.json [--server http://127.0.0.1:8080]
    python -m benchmarks.selector_prompts --outcomes BEFORE_RUN.json AFTER_RUN.json VARIANT_SUBSTRING

The first form runs the active compiled selector over each row (and each row again with a tool
result already gathered) against the scripted LM, which records every request: its messages and
its request fields. No model is called. The second compares two such dumps row by row as the
prompt the model reads: a request's `tools` field is folded into its system message the way
Qwen2.5's chat template renders it (dspy_programs/tool_block.py), so a request that carries the
tools in the field and one that writes them in the system message compare equal when the model
would read the same text. With `--server`, llama-server's own `/apply-template` renders the first
rows of both dumps (the field sent as the field) and the rendered prompts are compared too. The
third compares the per-row calls of one variant in two `evaluate` results files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import dspy

from dspy_programs.programs import ToolSelector, selector_kwargs
from dspy_programs.store import COMPILED_DIR, load_program
from offline import data
from testkit.scripted_lm import ScriptedLM

MODEL = "qwen2.5-coder-1.5b"
GATHERED = 'calculator({"expression": "2+2"}) -> 4'


def requests(split: str, variant: str = "") -> dict[str, dict[str, Any]]:
    """Each row's request (and the row's request with a tool result gathered), keyed by row id: of the
    active selector, or of the saved variant `variant`."""
    program: dspy.Module
    if variant == "zero-shot":
        program, how = ToolSelector(), "zero-shot"
    elif variant:
        path = COMPILED_DIR / MODEL / "variants" / f"selector-{variant}.json"
        program = ToolSelector(**selector_kwargs(json.loads(path.with_suffix(".meta.json").read_text())))
        program.load(str(path))
        how = f"variant {variant}"
    else:
        program, how = load_program("selector", MODEL)
    print(f"[prompts] selector for {MODEL}: {how}", file=sys.stderr)
    out: dict[str, dict[str, Any]] = {}
    for ex in data.selection_examples(split):  # type: ignore[arg-type]
        inputs = dict(ex.inputs())
        results_key = "tool_results" if "tool_results" in inputs else "gathered"
        for suffix, extra in (("", ""), ("+results", GATHERED)):
            lm = ScriptedLM()
            with dspy.context(lm=lm):
                program(**{**inputs, results_key: extra})
            entry = lm.history[-1]
            kwargs = {k: v for k, v in (entry.get("kwargs") or {}).items() if k in ("tools", "grammar",
                                                                                   "response_format", "logprobs")}
            out[ex.id + suffix] = {"messages": entry["messages"], **kwargs}
    return out


def folded(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's messages with its `tools` field written into the system message, as the template does."""
    from dspy_programs.tool_block import tools_block

    messages = [dict(m) for m in request["messages"]]
    if request.get("tools"):
        messages[0]["content"] = str(messages[0]["content"]) + tools_block(request["tools"])
    return messages


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]


def apply_template(server: str, request: dict[str, Any]) -> str:
    import httpx

    body = {"messages": request["messages"], **({"tools": request["tools"]} if request.get("tools") else {})}
    reply = httpx.post(f"{server.rstrip('/')}/apply-template", json=body, timeout=60)
    reply.raise_for_status()
    return str(reply.json()["prompt"])


def compare(before_path: Path, after_path: Path, server: str | None, rows: int) -> int:
    before, after = json.loads(before_path.read_text()), json.loads(after_path.read_text())
    if sorted(before) != sorted(after):
        print(f"different rows: {sorted(set(before) ^ set(after))[:10]}")
        return 1
    differ = [k for k in before if folded(before[k]) != folded(after[k])]
    print(f"{len(before)} requests; as the model reads them, {len(before) - len(differ)} identical, "
          f"{len(differ)} different{': ' + ', '.join(differ[:20]) if differ else ''}")  # fmt: skip
    extra = [k for k in before if {f for f in after[k] if f != "messages" and f != "tools"}
             != {f for f in before[k] if f != "messages" and f != "tools"}]  # fmt: skip
    if extra:
        print(f"request fields other than messages/tools differ on {len(extra)}: {extra[:10]}")
    same_server = 0
    if server:
        for key in list(before)[:rows]:
            same_server += apply_template(server, before[key]) == apply_template(server, after[key])
        print(f"llama-server /apply-template: {same_server} of {min(rows, len(before))} rendered prompts identical")
    ok = not differ and not extra and (not server or same_server == min(rows, len(before)))
    return 0 if ok else 1


def outcomes(before_path: Path, after_path: Path, variant: str) -> int:
    """Rows whose predicted calls differ between two `evaluate` runs of the variant named by `variant`."""
    runs = []
    for path in (before_path, after_path):
        saved = json.loads(path.read_text())["outcomes"]
        name = next(n for n in saved if variant in n)
        runs.append({o["id"]: o for o in saved[name]})
    before, after = runs
    differ = [i for i in before if before[i]["predicted"] != after.get(i, {}).get("predicted")]
    exact = [sum(o["exact"] for o in run.values()) for run in runs]
    print(f"{len(before)} rows; predicted calls differ on {len(differ)}{': ' + ', '.join(differ) if differ else ''}; "
          f"exact tool set {exact[0]} vs {exact[1]} rows")  # fmt: skip
    return 0 if not differ else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="selector_prompts", description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)  # fmt: skip
    parser.add_argument("--split", default="dev")
    parser.add_argument("--variant", default="", help="a saved variant, or zero-shot (default: the active one)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--outcomes", nargs=3, metavar=("BEFORE_RUN", "AFTER_RUN", "VARIANT"))
    parser.add_argument("--server", default=None, help="llama-server URL: compare its rendered prompts too")
    parser.add_argument("--server-rows", type=int, default=12)
    args = parser.parse_args(argv)
    if args.outcomes:
        return outcomes(Path(args.outcomes[0]), Path(args.outcomes[1]), args.outcomes[2])
    if args.compare:
        before, after = args.compare
        return compare(before, after, args.server, args.server_rows)
    dump = requests(args.split, args.variant)
    args.out.write_text(json.dumps(dump, ensure_ascii=False, indent=1) + "\n")
    print(f"[prompts] {len(dump)} requests -> {args.out} (digest {digest(dump)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
