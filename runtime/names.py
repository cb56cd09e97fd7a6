"""Node names more than one layer reads: a tool's executor node is `run_<tool>`.

The graph names the nodes (nodes/execute.py, graphs/agent.py); the tool cache, the CLI, the
benchmarks and the offline evaluation read a tool back from a node name. One definition here.
"""

from __future__ import annotations

EXECUTOR_PREFIX = "run_"


def executor_node_name(tool_name: str) -> str:
    return f"{EXECUTOR_PREFIX}{tool_name}"


def tool_of_node(node: str) -> str | None:
    """The tool an executor node runs; None for any other node."""
    return node[len(EXECUTOR_PREFIX) :] if node.startswith(EXECUTOR_PREFIX) else None
