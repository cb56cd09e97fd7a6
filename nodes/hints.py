"""What the selector is told when the loop sends it back: the offered tool an unknown call meant,
the tool to look a missing figure up with, and the conversion a question still needs.

The small selector repeats a refused call when it is only told the valid names, and makes no
further call when a passage it gathered is in the wrong unit; told which tool to call, it corrects
both (docs/critique-loop.md). Every hint is drawn from the offered tools' own names and
descriptions, so it works for a user's tools as well as the template's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pint
from langchain_core.tools import BaseTool

from agent_types.state import ToolResult
from nodes.checks import YEAR, asks_date_arithmetic, is_free_text, ungrounded_figures, unit_forms

# Tools whose arguments the call checks know (nodes/checks.py, call_problem): they compute from
# figures; every other offered tool is taken to look figures up.
COMPUTING_TOOLS = ("calculator", "convert_units", "date_calculator")

_WORD = re.compile(r"[a-z]+|\d+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
# Words every tool text has: they tell no tool from another.
_COMMON = frozenset({"a", "an", "and", "are", "as", "at", "be", "by", "e", "for", "from", "g", "get", "i", "in", "is",
                     "it", "its", "of", "on", "or", "return", "the", "this", "to", "with", "json", "one", "any",
                     "each"})  # fmt: skip
# The unit a question asks its answer in: "..., in pounds?", "... in km/h?"
_ASKED_UNIT = re.compile(r",?\s\bin\s+(?:the\s+)?([^\s?,!]+(?:\s[^\s?,!]+)?)\s*[?.!]?\s*$", re.IGNORECASE)


def words(*texts: object) -> set[str]:
    """Lower-case words of `texts` (snake_case and camelCase split, a plural -s dropped)."""
    out: set[str] = set()
    for text in texts:
        spaced = _CAMEL.sub(" ", str(text)).lower().replace("_", " ")
        for w in _WORD.findall(spaced):
            stem = w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
            if stem not in _COMMON:
                out.add(stem)
    return out


def tool_words(tool: BaseTool) -> set[str]:
    """Words of the tool's name, description and arguments."""
    args = tool.args
    return words(tool.name, tool.description, *args, *(str(a.get("description", "")) for a in args.values()))


def nearest_tool(wanted: set[str], tools: Sequence[BaseTool]) -> BaseTool | None:
    """The tool sharing most of `wanted`, each word weighted by how few of the tools have it (a
    word every tool has tells none apart); the first on a tie, None when none shares a word."""
    texts = [tool_words(t) for t in tools]
    weight = {w: 1 / sum(w in text for text in texts) for w in wanted if any(w in text for text in texts)}
    best: tuple[float, BaseTool | None] = (0.0, None)
    for tool, text in zip(tools, texts, strict=True):
        score = sum(weight.get(w, 0.0) for w in wanted & text)
        if score > best[0]:
            best = (score, tool)
    return best[1]


def clauses(text: str) -> list[str]:
    """`text` split at commas, colons, semicolons, sentence ends and "and", outside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0 and ch in ",;:." and text[i + 1 : i + 2] in (" ", ""):
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for part in parts for p in re.split(r"\band\b(?![^(]*\))", part) if p.strip()]


def clause(tool: BaseTool, wanted: set[str]) -> str:
    """The part of the tool's description that shares most of `wanted` (a list item, a sentence),
    or its first sentence."""
    parts = clauses(tool.description)
    scored = [(len(words(p) & wanted), -i, p) for i, p in enumerate(parts)]
    best = max(scored, default=(0, 0, ""))
    return best[2] if best[0] > 0 else (parts[0] if parts else "")


def unknown_tool_hint(name: str, args: Mapping[str, Any], tools: Sequence[BaseTool]) -> str:
    """What a refused call to an unknown tool is told beside the valid names: the nearest offered
    tool and what it does, e.g. "the nearest is http_api: stock levels (/inventory/{sku})"."""
    # Dates and amounts in the arguments name no tool.
    wanted = {w for w in words(name, *args, *(v for v in args.values() if isinstance(v, str))) if not w.isdigit()}
    tool = nearest_tool(wanted, tools)
    if tool is None:
        return ""
    what = clause(tool, wanted)
    return f"; the nearest is {tool.name}" + (f": {what}" if what else "")


def lookup_tools(tools: Sequence[BaseTool], question: str = "", exclude: str = "") -> list[BaseTool]:
    """The offered tools that look figures up (all but the computing ones): the one whose name and
    description share most words with the question first (its argument examples left out: an
    example id says nothing of what a tool holds), then the rest in their order."""
    lookups = [t for t in tools if t.name not in COMPUTING_TOOLS and t.name != exclude]
    wanted = words(question)
    shared = [len(wanted & words(t.name, t.description)) for t in lookups]
    order = sorted(range(len(lookups)), key=lambda i: -shared[i])  # sorted() is stable: ties keep their order
    return [lookups[i] for i in order]


def lookup_names(question: str, tools: Sequence[BaseTool], exclude: str) -> str:
    """The three likeliest lookup tools as "a or b or c" (empty when there is none)."""
    return " or ".join(t.name for t in lookup_tools(tools, question, exclude)[:3])


def lookup_hint(question: str, tools: Sequence[BaseTool], exclude: str) -> str:
    """For a call whose figure nothing states: the tools to look it up with first, the likeliest
    first (which one holds the figure is the selector's to judge)."""
    names = lookup_names(question, tools, exclude)
    return f"; call {names} to find it first" if names else "; take the figures they state"


_UNKNOWN_UNIT = re.compile(r"unknown unit '([^']+)'")


def failed_call_hint(result: ToolResult, question: str, tools: Sequence[BaseTool]) -> str:
    """For a conversion that failed on a "unit" the question names as a thing ("two battery
    packs" -> unit 'pack'): the figure is to be looked up, not converted."""
    match = _UNKNOWN_UNIT.search(str(result.get("error") or ""))
    if result["name"] != "convert_units" or match is None or not words(match.group(1)) & words(question):
        return ""
    names = lookup_names(question, tools, exclude=result["name"])
    if not names:
        return ""
    unit = match.group(1)
    return f"; {unit!r} is something the question names, not a unit: call {names} for its figures first"


def asked_unit(question: str) -> pint.Unit | None:
    """The physical unit a question asks its answer in ("..., in pounds?"), or None."""
    from tools.errors import ToolInputError
    from tools.units import parse_unit

    match = _ASKED_UNIT.search(question.strip())
    if match is None:
        return None
    phrase = match.group(1)
    # The whole phrase ("degrees Celsius"), else its last word ("US dollars" is no unit, though
    # pint reads "US" as microseconds).
    for candidate in dict.fromkeys((phrase, phrase.split()[-1])):
        try:
            unit = parse_unit(candidate)
        except ToolInputError:
            continue
        # A dimensionless "unit" (percent, a bare number) is no conversion.
        return unit if dict(unit.dimensionality) else None
    return None


def _states_in(unit: pint.Unit, text: str) -> bool:
    """Whether `text` gives a figure in `unit` (a number followed by one of its forms)."""
    forms = {f for f in (*unit_forms(str(unit)), str(unit).replace("_", " ")) if f}
    low = text.lower()
    return any(re.search(rf"\d\s*{re.escape(f)}(?:e?s)?(?![a-z0-9])", low) for f in forms)


# A figure and the word after it ("35 kg", "1,800 mm", "2.2 m/s"): the candidates for a conversion.
_FIGURE_WITH_UNIT = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)\s?([a-zA-Z°][a-zA-Z°/]*)")


def figures_in(unit: pint.Unit, texts: Sequence[str], limit: int = 4) -> list[str]:
    """The figures `texts` state in a unit that converts to `unit` ("35 kg" for pounds), as written."""
    from tools.errors import ToolInputError
    from tools.units import parse_unit

    found: list[str] = []
    for text in texts:
        for number, word in _FIGURE_WITH_UNIT.findall(text):
            try:
                same_kind = parse_unit(word).dimensionality == unit.dimensionality
            except ToolInputError:
                continue
            if same_kind and f"{number} {word}" not in found:
                found.append(f"{number} {word}")
    return found[:limit]


def passages_only(results: Sequence[ToolResult]) -> list[ToolResult]:
    """The calls that worked, when they gathered only passages or records and none computed;
    else (nothing worked, or something computed) an empty list."""
    worked = [r for r in results if not r.get("error")]
    if any(r["name"] in COMPUTING_TOOLS for r in worked) or not all(is_free_text(r) for r in worked):
        return []
    return worked


def missing_conversion(question: str, results: Sequence[ToolResult], tools: Sequence[BaseTool]) -> str | None:
    """The question asks its answer in a unit, the calls gathered only passages or records, none of
    which gives a figure in that unit, and no conversion was made: what the selector is told to do,
    or None."""
    if "convert_units" not in {t.name for t in tools}:
        return None
    unit = asked_unit(question)
    worked = passages_only(results)
    if unit is None or not worked or any(_states_in(unit, r.get("output") or "") for r in worked):
        return None
    if _states_in(unit, question):
        return None
    # The figures themselves: told only "the figure the results state", the selector copied the
    # made-up value of its refused call instead (docs/critique-loop.md, section 8).
    stated = figures_in(unit, [r.get("output") or "" for r in worked])
    return (f"the question asks for the answer in {unit} and no result above gives a figure in {unit}: call "
            f"convert_units on the figure the results state{': ' + ' or '.join(stated) if stated else ''}")  # fmt: skip


# A quantity a question states: a number standing alone (not part of an id such as NW-ARM-200 or
# A1013, a date, or a compound such as 30-day), or a count in words. "one" is left out: "one year
# of support" asks for no arithmetic.
_QUANTITY = re.compile(r"(?<![\w.\-/])\$?\d+(?:[.,]\d+)*%?(?![\w\-/]|\.\d)")
_COUNT_WORDS = re.compile(r"\b(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|twice|double|triple)\b",
                          re.IGNORECASE)  # fmt: skip
_DATE_IN_TEXT = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def stated_quantities(question: str) -> list[str]:
    """The quantities `question` states (years left out), as written."""
    numbers = [q for q in _QUANTITY.findall(question) if not YEAR.fullmatch(q)]
    return numbers + [w.lower() for w in _COUNT_WORDS.findall(question)]


def missing_computation(question: str, results: Sequence[ToolResult], tools: Sequence[BaseTool]) -> str | None:
    """The question states a quantity (or asks for date arithmetic), the calls gathered only
    passages or records and nothing computed with them: what the selector is told (whether the
    answer needs the computation is its to judge), or None."""
    offered = {t.name for t in tools}
    worked = passages_only(results)
    if not worked:
        return None
    # Date arithmetic only on dates the results give ("within 60 days" is a lookup, not arithmetic).
    if "date_calculator" in offered and asks_date_arithmetic(question) and any(
        _DATE_IN_TEXT.search(r.get("output") or "") for r in worked
    ):
        return "the question asks for date arithmetic and nothing above did it: call date_calculator on the dates above"
    if "calculator" not in offered:
        return None
    quantities = stated_quantities(question)
    if not quantities:
        return None
    return (f"the question gives {', '.join(quantities)} and nothing above computed with it: if the answer needs "
            "a computation with it and the figures above, call calculator with them")  # fmt: skip


def made_up_hint(draft: str, results: Sequence[ToolResult], asked: str) -> str:
    """For a draft over passages that states figures no tool gave (the critique's missing step):
    which figures, and the tools that compute."""
    figures = ", ".join(ungrounded_figures(draft, [r for r in results if not r.get("error")], asked))
    return (f"the draft stated {figures}, which no result above gives: if the question needs a computation or a "
            f"conversion of the figures above, call {' or '.join(COMPUTING_TOOLS[:2])} with them")  # fmt: skip
