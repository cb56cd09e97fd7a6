"""A role, bound once per node run: its endpoint (and so its model), LM, program and budget.

The run's context may choose a model per role (`context.<role>_model`, checked against
ALLOWED_MODELS). `bind` resolves the role's endpoint once and derives everything else from it,
so the LM, the compiled program and the conversation budget always belong to the same model.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any

import dspy
from langchain_core.messages import AIMessage

from agent_types.context import Context
from dspy_programs.store import PROGRAM_CACHE
from nodes.streaming import stream_answer
from nodes.tracing import LMRuns, traced
from runtime.limits import prepay_lm_call
from runtime.models import Endpoint, endpoint, lm_at
from runtime.settings import Role, get_settings
from runtime.usage import UsageMeter


@dataclass(frozen=True)
class RoleBinding:
    role: Role
    endpoint: Endpoint
    lm: dspy.LM
    program: dspy.Module  # the compiled program for this model, or the zero-shot one
    conversation_budget: int  # tokens of earlier conversation this model gets

    async def run(self, meter: UsageMeter, **inputs: Any) -> dspy.Prediction:
        """The program on this role's LM (in a `dspy.context` of this call only), traced."""
        await prepay_lm_call(self.endpoint.base_url, self.endpoint.model)
        with dspy.context(lm=self.lm, callbacks=[meter, LMRuns()], track_usage=True):
            return await traced(self.program.acall, self.role)(**inputs)

    async def stream(self, node: str, meter: UsageMeter, **inputs: Any) -> tuple[dspy.Prediction, AIMessage]:
        """`run`, with the `answer` field streamed (nodes/streaming.py); also returns it as the
        message chat clients saw streamed."""
        await prepay_lm_call(self.endpoint.base_url, self.endpoint.model)
        with dspy.context(lm=self.lm, callbacks=[meter, LMRuns()], track_usage=True):
            answer = functools.partial(stream_answer, node, self.program, self.endpoint.model)
            return await traced(answer, self.role)(**inputs)


async def bind(role: Role, context: Context | None) -> RoleBinding:
    model = getattr(context, f"{role}_model", None) if context else None
    ep = endpoint(role, model=model)
    # A model's programs are read from disk the first time it runs: in a worker thread, not on the
    # event loop every other run shares.
    program = PROGRAM_CACHE.loaded(role, ep.slug) or await asyncio.to_thread(PROGRAM_CACHE.get, role, ep.slug)
    return RoleBinding(
        role=role,
        endpoint=ep,
        lm=lm_at(ep),
        program=program,
        conversation_budget=get_settings().conversation_budget(ep.model),
    )
