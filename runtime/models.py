"""Language models per role, for DSPy and for LangChain, from one settings object.

Both libraries reach the model over the same OpenAI-compatible HTTP API, whether it is
OpenAI, another hosted endpoint, or the embedded llama.cpp server.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field

import dspy
from langchain_openai import ChatOpenAI

from runtime.limits import LMRateLimit
from runtime.model_catalog import MODELS
from runtime.settings import Role, Settings, get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoint:
    model: str
    base_url: str | None
    api_key: str = field(repr=False)  # never in a repr, a log line or an error

    @property
    def slug(self) -> str:
        """Directory-safe name of the model, used to find its compiled programs."""
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.model.split("/")[-1]).strip("_").lower()


class ModelNotAllowedError(ValueError):
    pass


def check_allowed(role: Role, model: str, settings: Settings) -> None:
    """A client's `context.<role>_model` must be the role's configured model or in ALLOWED_MODELS:
    each new name would cost an LM, a program, a limiter and metric series, on the operator's key."""
    allowed = {settings.role_model(role), *settings.allowed_models.get(role, ()), *settings.allowed_models.get("*", ())}
    if model not in allowed:
        raise ModelNotAllowedError(f"context.{role}_model {model[:80]!r} is not an allowed model for the {role} "
                                   f"(ALLOWED_MODELS)")  # fmt: skip


def endpoint(role: Role, settings: Settings | None = None, model: str | None = None) -> Endpoint:
    s = settings or get_settings()
    if model is not None:
        check_allowed(role, model, s)
    base_url = s.role_base_url(role)
    model = model or s.role_model(role)
    key = s.llm_api_key or s.openai_api_key
    if base_url:
        return Endpoint(model or "default", base_url, key.get_secret_value() if key else "not-needed")
    if s.openai_api_key:
        return Endpoint(model or s.openai_default_model, None, s.openai_api_key.get_secret_value())
    return Endpoint(model or MODELS[s.local_model].name, s.local_base_url(), "local")


_lms: dict[tuple[Endpoint, int], dspy.LM] = {}
_lock = threading.Lock()


def dspy_lm(
    role: Role, settings: Settings | None = None, *, model: str | None = None, max_tokens: int | None = None
) -> dspy.LM:
    """The LM of `role` (and of the run's `model` for it, if any)."""
    s = settings or get_settings()
    return lm_at(endpoint(role, s, model), s, max_tokens)


def lm_at(ep: Endpoint, settings: Settings | None = None, max_tokens: int | None = None) -> dspy.LM:
    """One `dspy.LM` per endpoint, shared by threads and tasks (LMs are thread-safe;
    `dspy.configure` is not, so nodes pass this LM per call with `dspy.context(lm=...)`)."""
    s = settings or get_settings()
    tokens = max_tokens or s.lm_max_tokens
    with _lock:
        lm = _lms.get((ep, tokens))
        if lm is None:
            lm = dspy.LM(
                f"openai/{ep.model}",
                api_base=ep.base_url,
                api_key=ep.api_key,
                temperature=0.0,
                max_tokens=tokens,
                timeout=s.lm_timeout_s,
                # LangGraph's RetryPolicy retries the node (3 attempts); one DSPy retry inside keeps
                # the worst case bounded (3 x 2 x LM_TIMEOUT_S).
                num_retries=1,
                cache=s.dspy_cache,
                # Requests per second are limited per endpoint (see runtime/limits.py for why here).
                callbacks=[LMRateLimit(ep.base_url, ep.model)],
            )
            _lms[(ep, tokens)] = lm
    return lm


def chat_model(role: Role, settings: Settings | None = None, model: str | None = None, **kwargs: object) -> ChatOpenAI:
    s = settings or get_settings()
    ep = endpoint(role, s, model)
    return ChatOpenAI(
        model=ep.model,
        base_url=ep.base_url,
        api_key=ep.api_key,  # type: ignore[arg-type]
        temperature=0.0,
        timeout=s.lm_timeout_s,
        max_retries=2,
        **kwargs,  # type: ignore[arg-type]
    )
