"""The served graph on the real local model, driven through langgraph_sdk."""

from __future__ import annotations

from typing import Any, cast

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from testkit.inputs import wire_input

pytestmark = pytest.mark.e2e


async def run(url: str, question: str, **context: Any) -> dict[str, Any]:
    client = get_client(url=url)
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "agent", input=wire_input(question),
                           context=context)  # fmt: skip
    return await thread_values(client, thread["thread_id"])


async def thread_values(client: LangGraphClient, thread_id: str) -> dict[str, Any]:
    state = await client.threads.get_state(thread_id)
    return cast(dict[str, Any], state["values"])  # the SDK also allows a list; a StateGraph's values are a dict


def tools_used(values: dict[str, Any]) -> list[str]:
    return sorted(r["name"] for r in values.get("tool_results", []))


def test_ok_and_demo_api(server: str) -> None:
    assert httpx.get(f"{server}/ok").json()["ok"] is True
    assert "/orders/{order_id}" in httpx.get(f"{server}/demo-api/").json()["endpoints"]


async def test_graph_shows_every_node(server: str) -> None:
    client = get_client(url=server)
    assistant = (await client.assistants.search(graph_id="agent"))[0]
    graph = await client.assistants.get_graph(assistant["assistant_id"])
    nodes = {n["id"] for n in graph["nodes"]}
    assert {"select", "synthesize", "critique", "refine", "run_calculator", "run_convert_units",
            "run_date_calculator", "run_search_knowledge", "run_http_api"} <= nodes  # fmt: skip


async def test_percentage_uses_the_calculator(server: str) -> None:
    values = await run(server, "What is 17% of 2,340?", critique=False)
    assert tools_used(values) == ["calculator"]
    assert values["tool_results"][0]["output"] == "397.8"
    assert "397.8" in values["answer"]


async def test_miles_to_km_uses_unit_conversion(server: str) -> None:
    values = await run(server, "How many km is 26.2 miles?", critique=False)
    assert tools_used(values) == ["convert_units"]
    assert "42.1" in values["answer"]


async def test_greeting_uses_no_tool(server: str) -> None:
    values = await run(server, "Hello!", critique=False)
    assert values.get("tool_results", []) == []
    assert values["answer"]


async def test_two_part_question_runs_two_tools_in_one_step(server: str) -> None:
    client = get_client(url=server)
    thread = await client.threads.create()
    question = "What is 15% of 80, and how many pounds is 5 kilograms?"
    steps: dict[str, int] = {}
    async for part in client.runs.stream(
        thread["thread_id"], "agent", input=wire_input(question),
        context={"critique": False}, stream_mode="debug",
    ):  # fmt: skip
        if part.event == "debug" and part.data.get("type") == "task":
            steps[part.data["payload"]["name"]] = part.data["step"]
    values = await thread_values(client, thread["thread_id"])
    assert tools_used(values) == ["calculator", "convert_units"]
    # Both executors were scheduled in the same superstep: LangGraph runs them concurrently.
    assert steps["run_calculator"] == steps["run_convert_units"]


async def test_stream_reports_progress_in_order_and_state_reads_back(server: str) -> None:
    client = get_client(url=server)
    thread = await client.threads.create()
    events: list[str] = []
    async for part in client.runs.stream(
        thread["thread_id"], "agent", input=wire_input("What is 12 * 12?"),
        stream_mode=["updates", "custom"],
    ):  # fmt: skip
        if part.event == "custom":
            events.append(part.data["event"])
        elif part.event == "updates":
            events.extend(f"node:{name}" for name in part.data if not name.startswith("__"))
    assert events.index("tools_selected") < events.index("node:run_calculator")
    assert events.index("node:synthesize") < events.index("critique") < events.index("node:finalize")
    values = await thread_values(client, thread["thread_id"])
    assert "144" in values["answer"]
    assert values["messages"][-1]["type"] == "ai"
