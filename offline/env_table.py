"""The README's table of environment variables, generated from the Settings class.

    .venv/bin/python -m offline.env_table          # print the Markdown table

Names and defaults come from `runtime.settings.Settings` itself; each variable's meaning is the
field's `description` when it has one, else the entry in MEANINGS below. A field without either
makes this script (and tests/unit/test_env_table.py) fail, so the table cannot fall behind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from runtime.settings import Settings

MEANINGS: dict[str, str] = {
    "openai_api_key": "OpenAI API key; with no `LLM_BASE_URL`, OpenAI itself serves every role.",
    "llm_base_url": "Base URL of any OpenAI-compatible endpoint (vLLM, llama.cpp, Ollama, a gateway) for every role.",
    "llm_api_key": "API key sent to `LLM_BASE_URL` (falls back to `OPENAI_API_KEY`).",
    "llm_model": "Model name for every role at the configured endpoint.",
    "openai_default_model": "Model used with `OPENAI_API_KEY` when `LLM_MODEL` is unset.",
    "selector_model": "Model of the tool selector (overrides `LLM_MODEL`; a run's context can override it again).",
    "synthesizer_model": "Model of the answer synthesizer (overrides `LLM_MODEL`).",
    "critic_model": "Model of the critic (overrides `LLM_MODEL`).",
    "refiner_model": "Model of the refiner (overrides `LLM_MODEL`).",
    "selector_base_url": "Endpoint of the selector's model (overrides `LLM_BASE_URL`).",
    "synthesizer_base_url": "Endpoint of the synthesizer's model (overrides `LLM_BASE_URL`).",
    "critic_base_url": "Endpoint of the critic's model (overrides `LLM_BASE_URL`).",
    "refiner_base_url": "Endpoint of the refiner's model (overrides `LLM_BASE_URL`).",
    "local_model": "Embedded model served by llama.cpp when no hosted model is configured.",
    "local_model_host": "Interface the embedded model server listens on.",
    "local_model_port": "Port of the embedded model's `llama-server` (every role).",
    "local_model_slots": "Parallel slots of `llama-server`; each keeps the KV cache of its last prompt.",
    "local_model_ctx": "Context tokens of the embedded model, all slots together (split evenly unless unified).",
    "local_model_kv_unified": "One KV pool shared by all slots instead of a fixed share each (benchmarks/serving.py "
    "compares both).",
    "local_model_cache_reuse": "`llama-server --cache-reuse`: reuse cached prompt chunks of at least this many "
    "tokens after a changed middle part.",
    "local_model_cache_ram_mib": "`llama-server --cache-ram`: host RAM (MiB) for prompts evicted from the slots.",
    "local_model_threads": "CPU threads for the embedded model; 0 = all cores.",
    "local_model_flash_attn": "`llama-server --flash-attn` (on, off, auto); off: on this CPU it slowed every token "
    "of a long cached prompt (benchmarks/serving.py).",
    "model_dir": "Where the embedded model's weights are downloaded and verified.",
    "llama_server_dir": "Where `llama-server` is built once per machine (a folder per llama.cpp version).",
    "llama_server_bin": "Use this existing `llama-server` binary instead of building one.",
    "lm_timeout_s": "Seconds one LM request may take before it fails (and is retried with backoff).",
    "lm_max_tokens": "Maximum completion tokens per LM call.",
    "redis_url": "Redis for the shared tool-result cache (e.g. `redis://host:6379/0`); unset = in-process cache.",
    "dspy_cache_dir": "Directory of DSPy's on-disk LM response cache.",
    "dspy_cache": "Cache LM responses (memory + disk); `false` sends every call to the model.",
    "dspy_cache_max_bytes": "Size limit of the on-disk LM cache, in bytes.",
    "dspy_cache_memory_entries": "Entries of the in-process LRU in front of the on-disk LM cache.",
    "tool_ttls": 'Per-tool cache TTL overrides in seconds, JSON (e.g. `{"http_api": 30}`); 0 = never cached.',
    "tool_cache_retry_s": "After a Redis error the tool cache is bypassed for this many seconds, then tried again.",
    "conversation_token_budget": "Tokens of earlier conversation given to a prompt; oldest turns are dropped first.",
    "conversation_budgets": 'Per-model conversation budgets, JSON (e.g. `{"gpt-4o": 4000}`).',
    "tool_result_max_tokens": "A tool result longer than this many tokens is cut, with a marker, before a prompt.",
    "lm_requests_per_second": "LM requests per second per endpoint (base URL, whatever the model); 0 = unlimited.",
    "lm_burst": "Burst size of the LM rate limit.",
    "tool_calls_per_minute_default": "Calls per minute per tool; 0 = unlimited. A call over the limit waits up "
    "to `TOOL_TIMEOUT_S`, then fails with an error result.",
    "tool_calls_per_minute": 'Per-tool overrides of the calls-per-minute limit, JSON (e.g. `{"http_api": 30}`).',
    "model_prices": 'USD per million tokens for the cost metric, JSON `{"model": {"input": x, "output": y}}`; '
    "models not listed cost 0.",
    "http_tool_base_url": "Base URL of the REST API the `http_api` tool may GET from.",
    "http_tool_allowed_hosts": 'Hosts the `http_api` tool may reach, JSON list (e.g. `["api.internal"]`).',
    "tool_timeout_s": "Seconds a tool call may take; a hanging tool is abandoned with an error result.",
    "circuit_failure_threshold": "Consecutive failures (crash, timeout, unreachable backend) that open a tool's "
    "circuit breaker; while open the tool is not called. 0 = breakers off.",
    "circuit_cooldown_s": "Seconds an open circuit waits before one trial call (half-open).",
    "auth_jwt_secret": "HS256 secret for bearer JWTs, at least 32 bytes. Set: every request (API and custom routes) "
    "needs a valid token, threads and assistants are private to their owner, the `tools` claim limits tools. "
    "Unset: every request is refused, unless `AUTH_DISABLED=true`.",
    "auth_disabled": "Local development only: with no `AUTH_JWT_SECRET`, every request is the local user with every "
    "tool (`agent-up` sets it for `langgraph dev`; logged loudly at start). Never set it in a deployment.",
    "auth_jwt_audience": "When set, tokens must carry this `aud` claim.",
    "auth_jwt_issuer": "When set, tokens must carry this `iss` claim.",
    "auth_jwt_max_ttl_s": "Longest token lifetime accepted, in seconds (`exp` - `iat`, and `exp` - now).",
    "allowed_models": 'Models a run\'s `context.<role>_model` may name, per role (`"*"`: every role), JSON (e.g. '
    '`{"synthesizer": ["gpt-4o"]}`); the configured model of a role is always allowed, any other name fails the run.',
    "tool_cache_per_user": "Tools whose results depend on the caller: the user is part of their cache key, JSON list.",
    "tool_cache_max_entries": "Entries of the in-process tool cache (without `REDIS_URL`); least recently used go "
    "first.",
    "audit_log_path": 'Also append the tool-call audit log (JSON lines, logger "agent.audit") to this file.',
    "max_question_chars": "Longest question accepted, in characters; longer ones get a clear error, no LM call.",
    "langgraph_port": "Port `agent-up` serves the API on (`langgraph dev`).",
}


def env_name(field: str) -> str:
    return field.upper()


def render_default(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return "(secret)"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, Path):
        home = str(Path.home())
        text = str(value)
        return f"`~{text[len(home):]}`" if text.startswith(home) else f"`{text}`"
    if isinstance(value, (dict, list)):
        return f"`{json.dumps(value, separators=(',', ':'))}`" if value else f"`{json.dumps(value)}`"
    return f"`{value}`"


def rows() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) for every Settings field, in declaration order."""
    out = []
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            default = field.default_factory()  # type: ignore[call-arg]
        else:
            default = None if field.is_required() else field.default
        meaning = field.description or MEANINGS.get(name)
        if not meaning:
            raise KeyError(f"Settings.{name} has no meaning: add a Field(description=...) or a MEANINGS entry")
        out.append((env_name(name), render_default(default), meaning))
    return out


def markdown() -> str:
    lines = ["| Variable | Default | Meaning |", "|---|---|---|"]
    lines += [f"| `{name}` | {default} | {meaning.replace('|', '/')} |" for name, default, meaning in rows()]
    return "\n".join(lines)


def main() -> int:
    print(markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
