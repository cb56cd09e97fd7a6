"""Bounded load on loopback: 200 runs by 16 concurrent clients through `langgraph dev`.

The model is the scripted server; the load driver is benchmarks/load.py (run it as a script
for the figures). Requirements: no errors, every thread's final state readable and correct
afterwards, and the server's memory stable: the RSS of its process tree while the last quarter
of the runs finished is at most 1.25 x that of the first quarter + 50 MB (the in-memory server
keeps every thread, so a little growth is data, not a leak).
"""

from __future__ import annotations

import httpx

from benchmarks.load import drive, server_env
from testkit.scripted_server import scripted_server
from testkit.server import langgraph_dev

RUNS, CONCURRENCY = 200, 16


async def test_200_runs_at_16_concurrent_clients() -> None:
    with (
        scripted_server() as model,
        langgraph_dev(env=server_env(model), extra_args=("--n-jobs-per-worker", str(CONCURRENCY))) as url,
    ):
        result = await drive(url, url.pid, RUNS, CONCURRENCY)
        assert httpx.get(f"{url}/ok", timeout=10).json()["ok"] is True
    summary = result.summary()
    print(summary)
    assert result.errors == [], result.errors[:5]
    assert len(result.latencies) == RUNS and len(result.threads) == RUNS
    assert result.unreadable == [], result.unreadable[:5]
    assert result.rss_last_mb <= result.rss_bound_mb, summary["rss_mb"]
