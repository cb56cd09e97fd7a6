"""Warm the embedded model server's prompt cache with each role's fixed prompt prefix, once at its start.

Every role's prompt starts with text that is the same for every question: the instructions, the
worked examples and (for the selector) the tool list, ~2,700 tokens for the compiled selector. The
server keeps what it has evaluated and reuses the longest matching prefix (`--cache-reuse`,
`--cache-ram`), so only the first question after a start pays for it: on 2 cores at ~90 prompt
tokens/s that question took ~50 s instead of ~5 s. This sends each role's messages once, formatted
by its own program and adapter for an empty question, asking for one token, so that the first
user does not pay for it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dspy
import httpx

from dspy_programs.programs import ToolSelector, prompt_messages
from dspy_programs.store import PROGRAM_CACHE
from dspy_programs.tool_specs import to_specs
from runtime.agent_config import load_tools
from runtime.models import endpoint
from runtime.settings import ROLES, Role, Settings


@dataclass(frozen=True)
class Warmed:
    role: Role
    prompt_tokens: int
    seconds: float


def blank_inputs(program: dspy.Module, tools: Sequence[Any]) -> dict[str, Any]:
    """Empty values for the program's predictor inputs, with the tools every user is offered."""
    [predictor] = program.predictors()
    inputs: dict[str, Any] = {}
    for name, field in predictor.signature.input_fields.items():
        inputs[name] = dspy.History(messages=[]) if field.annotation is dspy.History else ""
    if isinstance(program, ToolSelector):
        inputs["tools"] = program.offered(to_specs(tools))
    return inputs


def warm_prompt_cache(settings: Settings, tools: Sequence[Any] | None = None, timeout_s: float = 300.0) -> list[Warmed]:
    """Send each role that runs on the embedded server its prefix; return what each cost.

    Roles configured on another endpoint are skipped. A failure is reported in one line: a program
    or tools module that does not load skips what needs it, a server error ends the warm-up (the
    server still serves; the first question is just slower).
    """
    try:
        tools = load_tools() if tools is None else tools
    except ValueError as exc:  # agent.toml or its tools module: the server reports it again at start
        print(f"[model] not warmed: {exc}", file=sys.stderr)
        return []
    local = settings.local_base_url()
    done: list[Warmed] = []
    with httpx.Client(timeout=timeout_s) as client:
        for role in ROLES:
            ep = endpoint(role, settings)
            if ep.base_url != local:
                continue
            try:
                program = PROGRAM_CACHE.get(role, ep.slug)
            except ValueError as exc:  # a program that no longer loads: its error names the fix
                print(f"[model] the {role} not warmed: {exc}", file=sys.stderr)
                continue
            messages = prompt_messages(program, blank_inputs(program, tools))
            started = time.perf_counter()
            # Posted as is, not through dspy.LM: no response cache, history or usage metering for a
            # request no user made. (llama-server's own `--warmup` runs the weights once, not a prompt;
            # its slot save/restore would still need this prompt evaluated once.)
            try:
                reply = client.post(f"{local}/chat/completions", json={
                    "model": ep.model, "messages": messages, "max_tokens": 1, "temperature": 0.0,
                })  # fmt: skip
                reply.raise_for_status()
            except httpx.HTTPError as exc:
                print(f"[model] warm-up stopped at the {role}: {exc}", file=sys.stderr)
                break
            tokens = int((reply.json().get("usage") or {}).get("prompt_tokens", 0))
            done.append(Warmed(role, tokens, time.perf_counter() - started))
            print(f"[model] warmed the {role}'s prompt prefix: {tokens} tokens in {done[-1].seconds:.1f} s",
                  file=sys.stderr, flush=True)  # fmt: skip
    return done
