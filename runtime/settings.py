"""One settings object, read from the environment and `.env`.

Every knob a deployer can turn lives here, so the README's table of environment
variables can be checked against a single class.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

Role = Literal["selector", "synthesizer", "critic", "refiner"]
FlashAttn = Literal["on", "off", "auto"]  # llama-server --flash-attn
ROLES: tuple[Role, ...] = get_args(Role)


class Settings(BaseSettings):
    # hide_input_in_errors: a bad value (a key, a URL) is named, never echoed, in the error.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    # --- models -----------------------------------------------------------------
    # Any OpenAI-compatible endpoint: set LLM_BASE_URL (and LLM_API_KEY if it needs one).
    # With OPENAI_API_KEY and no base URL, OpenAI itself is used.
    # With neither, the embedded local model is served by llama.cpp on LOCAL_MODEL_PORT.
    # Keys are SecretStr: printed as ********** in reprs, logs and errors.
    openai_api_key: SecretStr | None = None
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str | None = None
    openai_default_model: str = "gpt-4o-mini"

    # Per-role overrides (model routing): e.g. SELECTOR_MODEL=gpt-4o-mini, SYNTHESIZER_MODEL=gpt-4o.
    selector_model: str | None = None
    synthesizer_model: str | None = None
    critic_model: str | None = None
    refiner_model: str | None = None
    selector_base_url: str | None = None
    synthesizer_base_url: str | None = None
    critic_base_url: str | None = None
    refiner_base_url: str | None = None

    local_model: Literal["qwen2.5-coder-1.5b"] = "qwen2.5-coder-1.5b"
    local_model_host: str = "127.0.0.1"
    local_model_port: int = 8080
    # llama.cpp's `llama-server` serves every role from one process: parallel slots, each with its
    # own prompt cache, and a request goes to the slot whose cached prompt matches it best, so the
    # selector's and the synthesizer's prefixes both stay warm (benchmarks/serving.py measures it).
    local_model_slots: int = 4
    # Context tokens of all slots together: LOCAL_MODEL_CTX / LOCAL_MODEL_SLOTS per slot (8192), or
    # one pool any slot may fill with LOCAL_MODEL_KV_UNIFIED. Per-slot is the default: in a unified
    # cache every token attends over all slots' cached prompts, which costs time once they fill.
    local_model_ctx: int = 32768
    local_model_kv_unified: bool = False
    # Reuse cached prompt chunks of at least this many tokens even after a changed middle part.
    local_model_cache_reuse: int = 256
    # Host RAM for prompts evicted from the slots (llama-server's --cache-ram), MiB.
    local_model_cache_ram_mib: int = 2048
    local_model_threads: int = 0  # 0: all cores
    # llama-server's --flash-attn. Off by default: its "auto" turns it on for the CPU, where it made
    # each token cost more the longer the cached prompt (benchmarks/serving.py has the figures).
    local_model_flash_attn: FlashAttn = "off"
    model_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "dspy-langgraph" / "models")
    # The llama-server binary: built once per machine into LLAMA_SERVER_DIR (serving/llama_server.py),
    # or an existing build named by LLAMA_SERVER_BIN.
    llama_server_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "dspy-langgraph" / "llama-server")
    llama_server_bin: Path | None = None
    lm_timeout_s: float = 60.0
    lm_max_tokens: int = 512

    # --- caches -----------------------------------------------------------------
    redis_url: str | None = None
    dspy_cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "dspy-langgraph" / "dspy")
    dspy_cache: bool = True
    # DSPy's LM response cache (memory + disk, see runtime/lm_cache.py). DSPY_CACHE=false turns it off.
    dspy_cache_max_bytes: int = 1_000_000_000  # disk size limit: 1 GB
    dspy_cache_memory_entries: int = 10_000  # in-process LRU entries in front of the disk cache
    # Per-tool TTL overrides in seconds, e.g. TOOL_TTLS='{"http_api": 30}'. 0 = never cached.
    tool_ttls: dict[str, int] = Field(default_factory=dict)
    # After a Redis error the tool cache is bypassed for this long, then tried again.
    tool_cache_retry_s: float = 5.0

    # --- budgets and limits ---------------------------------------------------------
    # Tokens (tiktoken cl100k_base) of earlier conversation given to a prompt; the oldest turns
    # are dropped first. CONVERSATION_BUDGETS='{"gpt-4o": 4000}' sets it per model.
    conversation_token_budget: int = 1500
    conversation_budgets: dict[str, int] = Field(default_factory=dict)
    # A tool result longer than this many tokens is cut, with a marker, before it reaches a prompt.
    tool_result_max_tokens: int = 500
    # LM requests per second per endpoint (base URL + model), with bursts up to LM_BURST; 0 = unlimited.
    lm_requests_per_second: float = 10.0
    lm_burst: int = 10
    # Tool calls per minute, per tool; 0 = unlimited. TOOL_CALLS_PER_MINUTE='{"http_api": 30}' overrides.
    # A call over the limit waits up to TOOL_TIMEOUT_S for its turn, then fails with an error result.
    tool_calls_per_minute_default: float = 600.0
    tool_calls_per_minute: dict[str, float] = Field(default_factory=dict)

    # --- metrics ----------------------------------------------------------------------
    # USD per million tokens, {"model": {"input": x, "output": y}}; models not listed cost 0 (local).
    model_prices: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {
            "gpt-4o-mini": {"input": 0.15, "output": 0.60},
            "gpt-4o": {"input": 2.50, "output": 10.00},
            "gpt-4.1-mini": {"input": 0.40, "output": 1.60},
            "gpt-4.1": {"input": 2.00, "output": 8.00},
        }
    )

    # --- tools ------------------------------------------------------------------
    http_tool_base_url: str = "http://127.0.0.1:2124/demo-api"
    http_tool_allowed_hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1", "localhost"])
    tool_timeout_s: float = 10.0
    # Circuit breaker per tool: open after this many consecutive failures (0 = off), try again after the cooldown.
    circuit_failure_threshold: int = 5
    circuit_cooldown_s: float = 30.0

    # --- auth and audit -----------------------------------------------------------
    # HS256 secret for bearer JWTs (serving/auth.py), at least 32 bytes. Unset: every request is
    # refused, unless AUTH_DISABLED=true (local development only: `agent-up` sets it).
    auth_jwt_secret: SecretStr | None = None
    # Local development only: no secret, every request is the one local user with every tool.
    auth_disabled: bool = False
    # When set, tokens must carry this `aud` claim / this `iss` claim.
    auth_jwt_audience: str | None = None
    auth_jwt_issuer: str | None = None
    # Longest token lifetime accepted (exp - iat, and exp - now), seconds.
    auth_jwt_max_ttl_s: int = 86_400
    # An identity provider's JWKS endpoint (runtime/jwks.py): tokens signed with one of its public
    # keys, in one of AUTH_JWT_ALGORITHMS, are accepted. Beside AUTH_JWT_SECRET or instead of it.
    auth_jwks_url: str | None = None
    auth_jwt_algorithms: list[str] = Field(default_factory=lambda: ["RS256"])
    # Models a run's context may pick per role ("*": every role), JSON; the configured model is always allowed.
    allowed_models: dict[str, list[str]] = Field(default_factory=dict)
    # A grant (runtime/grants.py) is bound to its user, thread and run, and expires this long after issue.
    tool_grant_ttl_s: int = Field(default=120, description="Seconds a tool call offered by the select node "
                                  "stays valid; a grant is also bound to its user, thread and run.")
    # Tools whose results depend on who asks: the user is part of their cache key.
    tool_cache_per_user: list[str] = Field(default_factory=lambda: ["http_api"])
    # Entries of the in-process tool cache (used without REDIS_URL); the least recently used go first.
    tool_cache_max_entries: int = 10_000
    # Append the tool-call audit log (JSON lines, logger "agent.audit") to this file too.
    audit_log_path: Path | None = None

    @field_validator("llm_base_url", "selector_base_url", "synthesizer_base_url", "critic_base_url",
                     "refiner_base_url")  # fmt: skip
    @classmethod
    def _no_credentials_in_url(cls, value: str | None) -> str | None:
        # A URL is printed in errors and logs (an LM client's "failed to connect to ..."); a key in it
        # would be too. The LM client does not send URL credentials anyway.
        if value is not None and "@" in (urlsplit(value).netloc or ""):
            raise ValueError("a base URL must not carry credentials (user:password@); set LLM_API_KEY instead")
        return value

    @field_validator("auth_jwt_secret")
    @classmethod
    def _secret_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        # HS256 with a short secret can be brute-forced offline from any one token.
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError("AUTH_JWT_SECRET must be at least 32 bytes (e.g. `openssl rand -hex 32`)")
        return value

    @field_validator("auth_jwt_algorithms")
    @classmethod
    def _public_key_algorithms(cls, value: list[str]) -> list[str]:
        # A JWKS holds public keys: a symmetric or `none` algorithm would let anyone who can read the
        # key set sign tokens (key confusion).
        allowed = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
        bad = [a for a in value if a not in allowed]
        if bad or not value:
            raise ValueError(f"AUTH_JWT_ALGORITHMS must be public-key algorithms from {sorted(allowed)}; got {value}")
        return value

    # --- graph bounds -------------------------------------------------------------
    max_question_chars: int = 8000
    # A run's input, and a thread's messages as intake reads them, are refused past any of these,
    # before anything is tokenized (serving/auth.py refuses the request; nodes/intake.py the run).
    max_input_messages: int = Field(default=200, description="Most messages a run's input (and a thread) may hold; "
                                    "more is refused (413) before anything is stored or tokenized.")
    max_input_chars: int = Field(default=200_000, description="Most characters of a run's input (and a thread's "
                                 "messages) in all; more is refused (413) before anything is stored or tokenized.")
    max_message_chars: int = Field(default=20_000, description="Most characters of any one message of a run's input; "
                                   "more is refused (413).")
    # Request bodies larger than this are refused (413) before they are read (serving/http_app.py).
    max_request_bytes: int = Field(default=2_000_000, description="Largest request body the server reads; a larger one "
                                   "is refused (413) before it is read.")
    langgraph_port: int = 2124

    def role_model(self, role: Role) -> str | None:
        """SELECTOR_MODEL etc., else agent.toml's [agent.models], else LLM_MODEL."""
        from runtime.agent_config import agent_config  # it reads PROJECT_ROOT and ROLES from here

        return getattr(self, f"{role}_model") or agent_config().role_model(role) or self.llm_model

    def role_base_url(self, role: Role) -> str | None:
        return getattr(self, f"{role}_base_url") or self.llm_base_url

    def conversation_budget(self, model: str | None) -> int:
        return self.conversation_budgets.get(model or "", self.conversation_token_budget)

    def tool_rate_per_minute(self, tool: str) -> float:
        return self.tool_calls_per_minute.get(tool, self.tool_calls_per_minute_default)

    def price(self, model: str) -> tuple[float, float]:
        """(input, output) USD per million tokens; the provider prefix is ignored (openai/gpt-4o)."""
        entry = self.model_prices.get(model) or self.model_prices.get(model.split("/", 1)[-1]) or {}
        return float(entry.get("input", 0.0)), float(entry.get("output", 0.0))

    @property
    def uses_local_model(self) -> bool:
        return not self.llm_base_url and not self.openai_api_key

    def local_base_url(self) -> str:
        return f"http://{self.local_model_host}:{self.local_model_port}/v1"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
