"""Answer tokens streamed to clients while the model writes them.

The synthesize and refine nodes run their program through `dspy.streamify` with a
`StreamListener` on the `answer` field: DSPy then asks the model for a streamed response and
hands over each piece of the answer field as it arrives (the other output fields and the
adapter's markers are filtered out). Each piece is sent as a custom stream event

    {"event": "answer_token", "node": "synthesize" | "refine", "text": "..."}

which reaches `langgraph dev` clients on stream_mode "custom" (see serving/cli.py).

The nodes are async: the program runs with `acall` as a task on the graph's event loop, and the
pieces arrive here, in the node's context, where LangGraph's stream writer lives. When the model
did not stream (an answer from DSPy's cache, or an LM that cannot stream) the whole answer is
sent as one event, so clients always see the answer text arrive before the node's update.
"""

from __future__ import annotations

from typing import Any

import dspy
from dspy.streaming import StreamListener, StreamResponse
from langgraph.config import get_stream_writer


async def stream_answer(node: str, program: dspy.Module, **inputs: Any) -> dspy.Prediction:
    """Run `program` (inside the caller's dspy.context) and stream its `answer` field."""
    write = get_stream_writer()
    # A listener keeps per-call state: a new one per call. streamify reads the callbacks of the
    # current dspy.context when it is called, so it is built here, inside the node's context.
    streaming = dspy.streamify(
        program,
        stream_listeners=[StreamListener(signature_field_name="answer")],
        is_async_program=True,
        async_streaming=True,
    )
    prediction: dspy.Prediction | None = None
    streamed = False
    async for value in streaming(**inputs):
        if isinstance(value, StreamResponse):
            if value.chunk:
                streamed = True
                write({"event": "answer_token", "node": node, "text": value.chunk})
        elif isinstance(value, dspy.Prediction):
            prediction = value
    if prediction is None:  # streamify always ends with the prediction; be loud if it did not
        raise RuntimeError(f"{node}: the program finished without a prediction")
    if not streamed:
        write({"event": "answer_token", "node": node, "text": str(prediction.answer).strip()})
    return prediction
