"""A GBNF grammar (llama.cpp) for the selector's reply, built from the offered tools.

The reply is `{"calls":[{"name":...,"arguments":{...}}]}` written compactly: each name is one of
the offered tools and its arguments follow that tool's JSON schema (required properties in
order, then the optional ones; enums and consts by value; types by JSON type). It is what the
server's own JSON-schema grammar (`response_format`) enforces too, minus the optional whitespace:
the model pretty-prints JSON when it may, and on this CPU every generated token costs ~0.1 s.

Schemas this does not model exactly (patterns, formats, numeric bounds, `oneOf`...) fall back
to "any JSON value" for that part; the call is still validated against the full schema after.
"""

from __future__ import annotations

import json
from typing import Any

STRING_CHAR = r'[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])'
BASE_RULES = {
    "string": f'"\\"" ( {STRING_CHAR} )* "\\""',
    "number": '"-"? [0-9]+ ("." [0-9]+)? ([eE] [-+]? [0-9]+)?',
    "integer": '"-"? [0-9]+',
    "boolean": '"true" | "false"',
    "null": '"null"',
    "value": 'object | array | string | number | boolean | null',
    "object": '"{" ( string ":" ws value ( "," ws string ":" ws value )* )? "}"',
    "array": '"[" ( value ( "," ws value )* )? "]"',
    # One optional space after ':' and ',' (as json.dumps writes), never a newline: the model
    # pretty-prints when allowed, and each token costs ~0.1 s here.
    "ws": '" "?',
}
COLON = '":" ws'
COMMA = '"," ws'


def _literal(value: Any) -> str:
    """A GBNF string literal matching the compact JSON text of `value`."""
    return json.dumps(json.dumps(value, ensure_ascii=False, separators=(",", ":")), ensure_ascii=False)


class _Builder:
    def __init__(self) -> None:
        self.rules: dict[str, str] = dict(BASE_RULES)

    def add(self, name: str, body: str) -> str:
        self.rules[name] = body
        return name

    def schema(self, schema: Any, name: str) -> str:
        """The name of a rule matching `schema` (a base rule, or a new one called `name`)."""
        if not isinstance(schema, dict):
            return "value"
        if "const" in schema:
            return self.add(name, _literal(schema["const"]))
        if "enum" in schema:
            return self.add(name, " | ".join(_literal(v) for v in schema["enum"]))
        if "anyOf" in schema and isinstance(schema["anyOf"], list):
            alts = [self.schema(s, f"{name}-{i}") for i, s in enumerate(schema["anyOf"])]
            return self.add(name, " | ".join(alts))
        kind = schema.get("type")
        if isinstance(kind, list):
            return self.add(name, " | ".join(self.schema({**schema, "type": k}, f"{name}-{k}") for k in kind))
        if kind == "object" or (kind is None and "properties" in schema):
            return self.object(schema, name)
        if kind == "array":
            item = self.schema(schema.get("items", {}), f"{name}-item")
            return self.add(name, f'"[" ( {item} ( {COMMA} {item} )* )? "]"')
        if kind in ("string", "number", "integer", "boolean", "null"):
            return str(kind)
        return "value"

    def object(self, schema: dict[str, Any], name: str) -> str:
        props = schema.get("properties")
        if not isinstance(props, dict):
            return "object"
        required = [p for p in props if p in set(schema.get("required", []))]
        optional = [p for p in props if p not in required]
        pair = {p: f"{_literal(p)} {COLON} {self.schema(props[p], f'{name}-{_rule_name(p)}')}" for p in props}
        if required:
            body = f" {COMMA} ".join(pair[p] for p in required) + "".join(f" ( {COMMA} {pair[p]} )?" for p in optional)
        elif optional:  # all optional: any of them may come first, the later ones after it
            alts = [pair[p] + "".join(f" ( {COMMA} {pair[q]} )?" for q in optional[i + 1 :])
                    for i, p in enumerate(optional)]  # fmt: skip
            body = f"( {' | '.join(f'( {a} )' for a in alts)} )?"
        else:
            body = ""
        return self.add(name, f'"{{" {body} "}}"')


def _rule_name(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text).strip("-") or "x"


def calls_grammar(tools: list[dict[str, Any]], reasoning: bool = False, at_least_one: bool = False) -> str:
    """GBNF for `{"calls": [...]}` (optionally `{"reasoning": "...", "calls": [...]}`) over `tools`,
    given as `{"name", "parameters"}` objects. `at_least_one`: an empty list is not allowed (when
    an answer-directly tool stands for "no call")."""
    builder = _Builder()
    calls = []
    for i, tool in enumerate(tools):
        args = builder.schema({"type": "object", "properties": {}, **(tool.get("parameters") or {})}, f"args{i}")
        name = _literal(tool["name"])
        body = f'"{{" {_literal("name")} {COLON} {name} {COMMA} {_literal("arguments")} {COLON} {args} "}}"'
        calls.append(builder.add(f"call{i}", body))
    call = builder.add("call", " | ".join(calls) or '"{}"')
    head = f'"{{" {_literal("reasoning")} {COLON} string {COMMA} ' if reasoning else '"{" '
    items = f"{call} ( {COMMA} {call} )*"
    builder.add("root", f'{head}{_literal("calls")} {COLON} "[" {items if at_least_one else f"( {items} )?"} "]}}"')
    return "\n".join(f"{name} ::= {body}" for name, body in builder.rules.items())
