"""DIAGNOSTIC ONLY: `langgraph dev` with the in-memory run queue's poll changed, to prove where
the per-run floor comes from. Not a setting, not for use outside benchmarks.

langgraph_runtime_inmem.ops.Runs.next (the dev server's queue) takes its cut-off time
`now = datetime.now()` and then, when the previous poll found nothing, sleeps a hard-coded
0.5 s before picking only runs created before `now`. A run created during that sleep waits
for the next 0.5 s cycle: every run waits 0.5-1.0 s before it starts. This wrapper sleeps
BENCH_QUEUE_POLL_S instead and lets the original take its cut-off after the sleep.

    python benchmarks/_patched_dev.py dev --no-browser ...   (same arguments as `langgraph dev`; run by
    its path, it needs no package on the path but langgraph's own)
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

from langgraph_runtime_inmem import ops

POLL_S = float(os.environ.get("BENCH_QUEUE_POLL_S", "0.01"))
_original_next = ops.Runs.next


async def _next(wait: bool, limit: int = 1) -> AsyncIterator[Any]:
    if wait:
        await asyncio.sleep(POLL_S)
    async for item in _original_next(wait=False, limit=limit):
        yield item


ops.Runs.next = staticmethod(_next)  # type: ignore[method-assign,assignment]

if __name__ == "__main__":
    from langgraph_cli.cli import cli

    cli()
