"""The architecture check: the import-linter contracts in pyproject.toml hold for the code.

Layers, top to bottom: offline, serving -> graphs -> nodes -> agent_types -> dspy_programs ->
tools -> runtime; no application package imports testkit, tests or benchmarks. The same check
runs from the shell as `.venv/bin/lint-imports`.
"""

from __future__ import annotations

from typing import Any

import pytest
from importlinter import cli
from importlinter.application import use_cases

from runtime.settings import PROJECT_ROOT

CONFIG = str(PROJECT_ROOT / "pyproject.toml")


def check(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.chdir(PROJECT_ROOT)
    # The CLI configures logging with dictConfig, which disables every logger that exists (the
    # audit logger among them) for the rest of the test session; in-process it must not.
    monkeypatch.setattr(cli, "_configure_logging", lambda verbose: None)
    return cli.lint_imports(config_filename=CONFIG, no_cache=True, no_logo=True)


def test_the_code_keeps_every_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    assert check(monkeypatch) == 0


# The back-edges the old layout had, each added to the real import graph: every one must fail.
BACK_EDGES = [
    ("runtime.settings", "graphs.agent"),  # infrastructure importing the graph
    ("runtime.usage", "nodes.select"),  # infrastructure importing a node
    ("dspy_programs.store", "runtime.usage"),  # allowed: downward (control case below)
    ("dspy_programs.programs", "nodes.checks"),  # programs importing nodes
    ("dspy_programs.api", "graphs.agent"),  # programs running the graph
    ("runtime.cache", "tools.demo_api"),  # infrastructure importing a tool
    ("nodes.select", "graphs.agent"),  # a node importing the wiring
    ("agent_types.state", "nodes.checks"),  # the types floor importing a node
    ("graphs.agent", "serving.cli"),  # the graph importing an entry point
    ("serving.cli", "offline.compile"),  # serving importing the offline tooling
    ("nodes.execute", "testkit.scripted_lm"),  # the application importing a test double
    ("benchmarks._common", "tests.unit.test_graph_routing"),  # benchmarks importing the tests
]


@pytest.mark.parametrize(("importer", "imported"), BACK_EDGES)
def test_a_back_edge_fails_the_check(monkeypatch: pytest.MonkeyPatch, importer: str, imported: str) -> None:
    real_build = use_cases._build_graph

    def with_edge(*args: Any, **kwargs: Any) -> Any:
        graph = real_build(*args, **kwargs)
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents=f"import {imported}")
        return graph

    monkeypatch.setattr(use_cases, "_build_graph", with_edge)
    downward = (importer, imported) == ("dspy_programs.store", "runtime.usage")
    assert check(monkeypatch) == (0 if downward else 1)
