"""Tool descriptions the selector reads (`ToolSpec`), and validation of the calls it writes.

The selector is generic over tools: it sees each tool only as a name, a description and a JSON
schema of arguments. A LangChain tool, a `dspy.Tool` or an OpenAI-style function spec becomes a
`ToolSpec`, so a selector compiled on one tool set runs on another. `ToolSpec` is a pydantic
model, so DSPy saves it inside a compiled program's demos as plain JSON and reads it back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import dspy
import jsonschema
import pydantic
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

# Keys of a JSON schema that cost prompt tokens and tell a model nothing.
_NOISE_KEYS = {"title", "additionalProperties", "$schema"}


class ToolSpec(pydantic.BaseModel):
    """A tool as the selector sees it: its name, what it does, and the JSON schema of its arguments."""

    model_config = pydantic.ConfigDict(frozen=True)

    name: str
    description: str = ""
    parameters: dict[str, Any] = pydantic.Field(default_factory=lambda: {"type": "object", "properties": {}})

    @classmethod
    def from_any(cls, tool: AnyTool) -> ToolSpec:
        if isinstance(tool, ToolSpec):
            return tool
        if isinstance(tool, BaseTool):
            fn = convert_to_openai_tool(tool)["function"]
        elif isinstance(tool, dspy.Tool):
            fn = tool.format_as_litellm_function_call()["function"]
        elif "function" in tool:  # OpenAI {"type": "function", "function": {...}}
            fn = dict(tool["function"])
        else:
            fn = dict(tool)
        if not fn.get("name"):
            raise ValueError(f"tool spec without a name: {tool!r}")
        params = fn.get("parameters") or {"type": "object", "properties": {}}
        return cls(name=str(fn["name"]), description=str(fn.get("description") or ""), parameters=_clean(params))

    def brief(self) -> dict[str, Any]:
        """The argument schema as a model is shown it: reduced to what guides the call (types,
        enums, descriptions, required); the full schema still validates the call."""
        return dict(_brief(self.parameters))

    def openai(self) -> dict[str, Any]:
        """The OpenAI-style function spec of the tool, with the brief schema."""
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": {"type": "object", **self.brief()}}}  # fmt: skip


# What the selector accepts as a tool.
AnyTool: TypeAlias = BaseTool | dspy.Tool | Mapping[str, Any] | ToolSpec


def _clean(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            # Under "properties" the keys are argument names (a parameter may be called "title").
            k: (
                {name: _clean(sub) for name, sub in v.items()}
                if k == "properties" and isinstance(v, dict)
                else _clean(v)
            )
            for k, v in schema.items()
            if k not in _NOISE_KEYS
        }
    if isinstance(schema, list):
        return [_clean(v) for v in schema]
    return schema


# Schema keys that constrain validation but do not help a model choose or fill a call; the
# full schema still validates the call. Dropping them keeps few-shot prompts within context.
_VALIDATION_ONLY = {"maxLength", "minLength", "maximum", "minimum", "default", "pattern", "additionalProperties"}


def _brief(schema: Any) -> Any:
    if isinstance(schema, dict):
        if "anyOf" in schema:  # Optional[X] -> X (the null branch is implied by "required")
            options = [o for o in schema["anyOf"] if not (isinstance(o, dict) and o.get("type") == "null")]
            if len(options) == 1:
                merged = {**{k: v for k, v in schema.items() if k != "anyOf"}, **options[0]}
                return _brief(merged)
        return {
            k: ({n: _brief(sub) for n, sub in v.items()} if k == "properties" and isinstance(v, dict) else _brief(v))
            for k, v in schema.items()
            if k not in _VALIDATION_ONLY and not (k == "type" and v == "object")
        }
    if isinstance(schema, list):
        return [_brief(v) for v in schema]
    return schema


def to_specs(tools: Iterable[AnyTool]) -> list[ToolSpec]:
    specs = [ToolSpec.from_any(t) for t in tools]
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate tool names: {names}")
    return specs


@dataclass(frozen=True)
class CheckedCall:
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class RejectedCall:
    name: str
    args: Any
    reason: str


def schema_errors(args: Any, spec: ToolSpec) -> list[str]:
    """Every way `args` breaks the tool's JSON schema, by argument (`validate_calls` reports one)."""
    validator = jsonschema.validators.validator_for(spec.parameters)(spec.parameters)
    return [e.message for e in sorted(validator.iter_errors(args), key=lambda e: [str(p) for p in e.path])]


def validate_calls(raw_calls: Iterable[Any], specs: Iterable[ToolSpec]) -> tuple[list[CheckedCall], list[RejectedCall]]:
    """Keep the calls whose tool exists and whose arguments validate; reject the rest.

    Rejected calls are never executed; they are reported so the graph can say so.
    Duplicate calls (same tool, same arguments) are kept once.
    """
    by_name = {s.name: s for s in specs}
    accepted: list[CheckedCall] = []
    rejected: list[RejectedCall] = []
    seen: set[str] = set()
    for raw in raw_calls:
        name = getattr(raw, "name", None) if not isinstance(raw, Mapping) else raw.get("name")
        args = getattr(raw, "args", None) if not isinstance(raw, Mapping) else raw.get("args", {})
        if args is None:
            args = {}
        spec = by_name.get(str(name))
        if spec is None:
            rejected.append(RejectedCall(str(name), args, "unknown tool"))
            continue
        if not isinstance(args, dict):
            rejected.append(RejectedCall(spec.name, args, "arguments are not an object"))
            continue
        try:
            jsonschema.validate(args, spec.parameters)
        except jsonschema.ValidationError as exc:
            rejected.append(RejectedCall(spec.name, args, f"invalid arguments: {exc.message}"))
            continue
        allowed = set(spec.parameters.get("properties", {}))
        if allowed and (extra := set(args) - allowed):
            rejected.append(RejectedCall(spec.name, args, f"unknown arguments: {sorted(extra)}"))
            continue
        key = json.dumps([spec.name, args], sort_keys=True, default=str)
        if key in seen:
            continue
        seen.add(key)
        accepted.append(CheckedCall(spec.name, args))
    return accepted, rejected
