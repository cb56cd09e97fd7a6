"""The selector's worked examples (its demos), written into the system message with the tools each one had."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from dspy_programs.selector_reply import calls_of
from dspy_programs.tool_specs import ToolSpec, to_specs, validate_calls

# Each example carries its own tool list, so it stays valid whatever tools are offered now: the
# examples teach how to read a tool list, not which names to copy. In the system message they are
# a prefix every request shares, which llama.cpp keeps cached. Each tool of an example's list is
# its signature alone, `name(arg: type, ...)`: every generated token attends to the whole prompt,
# so a shorter one is quicker.
HEADER = (
    "\n\nWorked examples. Each used its own tools, which may differ from the tools you have now: "
    "always choose from the tools you are given, with their argument names."
)


def signature_line(spec: ToolSpec) -> str:
    """One line for a tool of an example's list: `- name(arg: type, optional?: type, choice: a|b)`."""
    params = spec.brief()
    required = set(params.get("required", []))
    args = []
    for name, schema in params.get("properties", {}).items():
        kind = schema.get("type", "any") if isinstance(schema, dict) else "any"
        if isinstance(schema, dict) and schema.get("enum"):
            kind = "|".join(str(v) for v in schema["enum"])
        args.append(f"{name}{'' if name in required else '?'}: {kind}")
    return f"- {spec.name}({', '.join(args)})"


def transferable_examples(demos: Iterable[Mapping[str, Any]],
                          specs: Sequence[ToolSpec]) -> list[Mapping[str, Any]]:  # fmt: skip
    """Worked examples minus those that call a tool offered now under the same name with another
    argument schema: the model copies such an example's arguments (a banking set's
    `calculator(a, b, op)` example made the shipped `calculator(expression)` calls invalid)."""
    offered = {s.name for s in specs}
    kept = []
    for demo in demos:
        clashing = [c for c in calls_of(demo.get("tool_calls")) if c["name"] in offered]
        if clashing and validate_calls(clashing, specs)[1]:
            continue
        kept.append(demo)
    return kept


Render = Callable[[Mapping[str, Any]], str]


def examples_block(demos: Sequence[Mapping[str, Any]], turns: Callable[[Mapping[str, Any]], list[dict[str, str]]],
                   user: Render, reply: Render) -> str:  # fmt: skip
    """The worked examples as text: each distinct tool list once, then each example naming the
    list it had, its earlier turns (`turns`), its message (`user`) and its reply (`reply`)."""
    if not demos:
        return ""
    toolsets: list[str] = []
    lists: list[list[ToolSpec]] = []
    keys = []
    for demo in demos:
        specs = to_specs(demo.get("tools") or [])
        key = json.dumps([s.model_dump() for s in specs], sort_keys=True)
        keys.append(key)
        if key not in toolsets:
            toolsets.append(key)
            lists.append(specs)
    parts = [HEADER]
    for n, specs in enumerate(lists, 1):
        parts.append("\n".join([f"\nTools {n}:", *(signature_line(s) for s in specs)]))
    for i, (demo, key) in enumerate(zip(demos, keys, strict=True), 1):
        lines = [f"\nExample {i} (tools {toolsets.index(key) + 1}):"]
        lines += [f"{turn['role'].capitalize()}: {turn['content']}" for turn in turns(demo)]
        lines.append(f"User: {user(demo)}")
        lines.append(f"Reply: {reply(demo)}")
        parts.append("\n".join(lines))
    return "\n".join(parts)
