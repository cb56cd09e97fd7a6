"""Before a command runs the graph in its own process: is there a model server to answer it?"""

from __future__ import annotations

import httpx

from runtime.models import endpoint
from runtime.settings import ROLES, Settings

START_MODEL = ("start the embedded one with `.venv/bin/agent-up --model-only` (or `make up`), or set LLM_BASE_URL "
               "or OPENAI_API_KEY (in the environment or .env) for a hosted model")  # fmt: skip


def model_problem(settings: Settings) -> str | None:
    """Why the graph cannot reach its model, in one line; None when every role's endpoint answers.

    Any HTTP answer counts as a server being there (a wrong key or path is the LM call's error to
    report); only a refused or timed-out connection is "no model server". OpenAI itself (no base
    URL) is not checked.
    """
    checked: set[str] = set()
    for role in ROLES:
        base = endpoint(role, settings).base_url
        if base is None or base in checked:
            continue
        checked.add(base)
        try:
            httpx.get(f"{base.rstrip('/')}/models", timeout=3)
        except httpx.HTTPError:
            if settings.uses_local_model:
                return f"no model server answers at {base}: {START_MODEL}"
            setting = f"{role.upper()}_BASE_URL" if getattr(settings, f"{role}_base_url") else "LLM_BASE_URL"
            return f"no model server answers at {base} ({setting}): start that server or correct {setting}"
    return None
