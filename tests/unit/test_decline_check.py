"""The decline-check benchmark's scoring: calls below the threshold become "no tool"."""

from __future__ import annotations

import math
from typing import Any

from benchmarks.decline_check import auc, scores


def _row(rid: str, expected: list[str], predicted: list[str]) -> dict[str, Any]:
    return {"id": rid, "expected": [{"name": n} for n in expected], "predicted": [{"name": n} for n in predicted]}


ROWS = [
    _row("a", [], ["search_knowledge"]),  # needed no tool, got one
    _row("b", ["calculator"], ["calculator"]),  # right call
    _row("c", [], []),  # right decline
    _row("d", ["search_knowledge"], []),  # wrong decline
]


def test_scores_drop_only_checked_calls_below_the_threshold() -> None:
    alone = scores(ROWS, {}, 0.0)
    assert alone == {"threshold": 0.0, "exact_tool_set": 0.5, "no_tool_precision": 0.5, "no_tool_recall": 0.5}
    checked = {"a": 0.2, "b": 0.6}
    assert scores(ROWS, checked, 0.3) == {"threshold": 0.3, "exact_tool_set": 0.75, "no_tool_precision": 0.667,
                                          "no_tool_recall": 1.0}  # fmt: skip
    # Too high a threshold also drops the right call.
    assert scores(ROWS, checked, 0.7)["exact_tool_set"] == 0.5


def test_auc_is_the_share_of_pairs_ranked_right() -> None:
    assert auc(ROWS, {"a": 0.2, "b": 0.6}) == 1.0
    assert auc(ROWS, {"a": 0.6, "b": 0.2}) == 0.0
    assert auc(ROWS, {"a": 0.4, "b": 0.4}) == 0.5
    assert math.isnan(auc(ROWS, {"b": 0.4}))  # no no-call question was checked


def test_need_score_is_one_minus_the_geometric_mean_token_probability() -> None:
    from benchmarks.decline_check import need_score

    assert need_score([0.0, 0.0]) == 0.0  # every token certain: no need for a tool
    assert math.isclose(need_score([math.log(0.5), math.log(0.5)]), 0.5)
    assert math.isclose(need_score([math.log(0.25), 0.0]), 0.5)  # geometric, not arithmetic, mean
    assert need_score([]) == 1.0  # no answer at all: no evidence the model knows it
