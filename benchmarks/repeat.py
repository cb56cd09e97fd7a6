"""A question asked again: the first time (LM cache cold) vs again in a new thread and in the same thread.

    .venv/bin/python -m benchmarks.repeat [--questions 4]

Through the real `langgraph dev` server and `langgraph_sdk`, on the embedded model, with DSPy's LM
cache on (the default) in a fresh cache folder, and critique on. For each question: ask it in a
new thread (cold), ask it again in another new thread, then ask it again in the first thread
(where the selector sees the conversation the question was first asked in: nodes/prompting.py).
Reported: seconds per ask, and each repeat as a ratio to the cold ask.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from typing import Any

from benchmarks._common import md_table, ratio, write_results
from offline import data
from runtime.bootstrap import configure
from testkit.inputs import wire_input
from testkit.server import langgraph_dev


async def ask(client: Any, thread_id: str, question: str) -> tuple[float, str]:
    started = time.perf_counter()
    out = await client.runs.wait(thread_id, "agent", input=wire_input(question))
    return time.perf_counter() - started, str(out.get("answer", ""))


async def measure(url: str, questions: list[str]) -> list[dict[str, Any]]:
    from langgraph_sdk import get_client

    client = get_client(url=url)
    rows = []
    for q in questions:
        first = (await client.threads.create())["thread_id"]
        cold, answer = await ask(client, first, q)
        other = (await client.threads.create())["thread_id"]
        new_thread, answer_new = await ask(client, other, q)
        same_thread, answer_same = await ask(client, first, q)
        rows.append({"question": q, "cold_s": round(cold, 2), "new_thread_s": round(new_thread, 2),
                     "same_thread_s": round(same_thread, 2), "same_answer_new_thread": answer_new == answer,
                     "same_answer_same_thread": answer_same == answer})  # fmt: skip
        print(f"  {rows[-1]}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    configure()  # library defaults and the LM cache, as the graph factory would (runtime/bootstrap.py)
    parser = argparse.ArgumentParser(prog="benchmarks.repeat", description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=4, help="first N questions of the answers test split")
    args = parser.parse_args(argv)
    questions = [r["question"] for r in data.answer_rows("test")[: args.questions]]
    with tempfile.TemporaryDirectory(prefix="dspy-cache-") as cache_dir:
        env = {"DSPY_CACHE": "true", "DSPY_CACHE_DIR": cache_dir}
        with langgraph_dev(env=env, extra_args=("--n-jobs-per-worker", "10")) as url:
            rows = asyncio.run(measure(url, questions))
    table = [[r["question"][:60], r["cold_s"], r["new_thread_s"], r["same_thread_s"],
              ratio(r["new_thread_s"], r["cold_s"]), ratio(r["same_thread_s"], r["cold_s"]),
              r["same_answer_new_thread"] and r["same_answer_same_thread"]] for r in rows]  # fmt: skip
    medians = {k: round(statistics.median(r[k] for r in rows), 2) for k in ("cold_s", "new_thread_s", "same_thread_s")}
    markdown = "\n".join([
        "Through `langgraph dev` + `langgraph_sdk`, embedded model, LM cache on (fresh folder), critique on.", "",
        md_table(["question", "cold s", "again, new thread s", "again, same thread s", "new / cold", "same / cold",
                  "same answer"], table), "",
        f"Medians: cold {medians['cold_s']} s, again in a new thread {medians['new_thread_s']} s, again in the same "
        f"thread {medians['same_thread_s']} s.",
    ]) + "\n"  # fmt: skip
    write_results("repeat", {"rows": rows, "medians": medians}, markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
