"""The answer and the tool activity, streamed in the shapes LangGraph clients read.

Two streams carry the same run:
- stream mode `messages` (`messages-tuple` on the server), what Studio's chat view and
  `useStream`/agent-chat-ui clients read: the select node's tool calls as an AI message with
  `tool_calls`, one `ToolMessage` per call, then the answer as AI message chunks while it is
  written;
- stream mode `custom`, what `ask` renders: `{"event": "answer_token", "node", "text"}` per
  piece of the answer, beside the tool and critique events the other nodes send.

Why the answer goes through a LangChain chat model here: LangGraph's `messages` stream
(langgraph/pregel/_messages.py, StreamMessagesHandler) takes tokens from LangChain chat-model
callbacks (`on_llm_new_token`, or `on_stream_event` content blocks on the newer protocol), and
whole messages from node outputs. A DSPy program is not a chat model, so its answer would reach
chat clients only when the node finished. `ProgramAnswer` presents the program's streamed
`answer` field as a chat model's reply: LangChain then drives every callback itself (both
protocols, `astream_events`, and a LangSmith `llm` run), rather than this module imitating them.

The program runs through `dspy.streamify` with a `StreamListener` on its `answer` field: DSPy
asks the model for a streamed response and hands over each piece of that field as it arrives
(the other output fields and the adapter's markers are filtered out). When the model did not
stream (an answer from DSPy's cache, or an LM that cannot stream) the whole answer is one piece,
so clients always see the answer text before the node's update.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import dspy
from dspy.streaming import StreamListener, StreamResponse
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langgraph.config import get_stream_writer
from langgraph.graph.message import push_message
from pydantic import ConfigDict, PrivateAttr

from agent_types.state import ToolCall, ToolResult


class ProgramAnswer(BaseChatModel):
    """One call of a DSPy program, seen by LangChain as a chat model whose reply is its `answer`.

    Built per call: it holds the program, its inputs and the node that runs it. The messages it
    is invoked with only describe the inputs (for traces); the program's adapter builds the prompt.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    node: str
    program: dspy.Module
    inputs: dict[str, Any]
    model_name: str = "dspy"
    _prediction: dspy.Prediction | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "dspy-program"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "node": self.node}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return LangSmithParams(ls_provider="dspy", ls_model_name=self.model_name, ls_model_type="chat")

    @property
    def prediction(self) -> dspy.Prediction:
        if self._prediction is None:  # streamify always ends with the prediction; be loud if it did not
            raise RuntimeError(f"{self.node}: the program finished without a prediction")
        return self._prediction

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        raise NotImplementedError("ProgramAnswer runs on the node's event loop: use ainvoke")

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # No `messages` stream is listening (LangChain streams only when a handler wants tokens):
        # the pieces still go out as custom events, and the reply is their sum.
        text = "".join([str(chunk.message.content) async for chunk in self._astream(messages)])
        return ChatResult(generations=[ChatGenerationChunk(message=AIMessageChunk(content=text))])

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        write = get_stream_writer()
        # A listener keeps per-call state: a new one per call. streamify reads the callbacks of the
        # current dspy.context when it is called, so it is built here, inside the node's context.
        streaming = dspy.streamify(
            self.program,
            stream_listeners=[StreamListener(signature_field_name="answer")],
            is_async_program=True,
            async_streaming=True,
        )
        streamed = False
        async for value in streaming(**self.inputs):
            if isinstance(value, StreamResponse):
                if value.chunk:
                    streamed = True
                    write({"event": "answer_token", "node": self.node, "text": value.chunk})
                    yield ChatGenerationChunk(message=AIMessageChunk(content=value.chunk))
            elif isinstance(value, dspy.Prediction):
                self._prediction = value
        if not streamed:
            text = str(self.prediction.answer).strip()
            write({"event": "answer_token", "node": self.node, "text": text})
            yield ChatGenerationChunk(message=AIMessageChunk(content=text))


def describe_inputs(inputs: dict[str, Any]) -> list[BaseMessage]:
    """The program's input fields as one message: what a trace shows as this chat run's input."""
    return [HumanMessage(content="\n\n".join(f"{name}: {value}" for name, value in inputs.items()))]


async def stream_answer(
    node: str, program: dspy.Module, model_name: str, **inputs: Any
) -> tuple[dspy.Prediction, AIMessage]:
    """Run `program` (inside the caller's dspy.context), streaming its `answer` field.

    Returns the prediction and the streamed reply as a message; its id is the one chat clients
    saw the chunks under, so the final answer written with it replaces them instead of repeating.
    """
    chat = ProgramAnswer(node=node, program=program, inputs=inputs, model_name=model_name, cache=False)
    reply = await chat.ainvoke(describe_inputs(inputs), config={"run_name": f"{node}.answer"})
    return chat.prediction, AIMessage(content=str(reply.content), id=reply.id)


def tool_call_message(calls: Sequence[ToolCall]) -> list[AIMessage]:
    """The select node's calls as the AI message with `tool_calls` a chat UI shows (none: nothing)."""
    if not calls:
        return []
    return [AIMessage(content="", tool_calls=[{"name": c["name"], "args": c["args"], "id": c["call_id"]}
                                              for c in calls])]  # fmt: skip


def _call_key(name: str, args: dict[str, Any]) -> str:
    return json.dumps([name, args], sort_keys=True, default=str)


def tool_messages(calls: Sequence[ToolCall], results: Sequence[ToolResult]) -> list[ToolMessage]:
    """One ToolMessage per call of this round, answering its tool-call id.

    A result from the tool cache carries the call id of the run that first computed it, so a call
    with no result under its own id takes an unclaimed result with the same tool and arguments.
    """
    by_id = {r["call_id"]: r for r in results}
    claimed = {c["call_id"] for c in calls if c["call_id"] in by_id}
    out = []
    for call in calls:
        # The id follows from the call's: a retried node sends the same message again, not a second one.
        call_id = call["call_id"]
        common: dict[str, Any] = {"tool_call_id": call_id, "name": call["name"], "id": f"tool-{call_id}"}
        result = by_id.get(call["call_id"])
        if result is None:
            same = _call_key(call["name"], call["args"])
            unclaimed = (r for r in reversed(results) if r["call_id"] not in claimed)
            result = next((r for r in unclaimed if _call_key(r["name"], r["args"]) == same), None)
            if result is not None:
                claimed.add(result["call_id"])
        if result is None:
            out.append(ToolMessage(content="no result", status="error", **common))
        elif result.get("error"):
            out.append(ToolMessage(content=str(result["error"]), status="error", **common))
        else:
            out.append(ToolMessage(content=result.get("output") or "", **common))
    return out


def push_tool_messages(calls: Sequence[ToolCall], results: Sequence[ToolResult]) -> None:
    """Send this round's tool messages to the `messages` stream now and write them to the state.

    The join node calls it before it starts the answer: the executors cannot write them (a cached
    executor replays its old writes, with the old call's ids), and returned with the node's update
    they would reach chat clients only after the answer.
    """
    for message in tool_messages(calls, results):
        push_message(message)
