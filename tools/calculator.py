"""The `calculator` tool: arithmetic through a whitelisting AST walker.

Nothing here hands text to Python's evaluator. The expression is parsed with `ast.parse`,
every node is checked against a short whitelist, and the walker computes the value itself,
refusing work whose size it cannot bound (huge powers, huge literals, deep nesting).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from typing import Final

from pydantic import BaseModel, Field

from tools.checked_tool import CheckedTool
from tools.errors import ToolInputError
from tools.number_format import format_number

Number = int | float

MAX_CHARS: Final = 500
MAX_DEPTH: Final = 40
MAX_NODES: Final = 200
MAX_EXPONENT: Final = 1000
MAX_LITERAL_DIGITS: Final = 100
MAX_LOG10_RESULT: Final = 300.0
MAX_ROUND_DIGITS: Final = 100
MAX_RESULT: Final = 1e300

CONSTANTS: Final[dict[str, float]] = {"pi": math.pi, "e": math.e}

# Characters a model tends to copy from prose; mapping them beats refusing them.
_LOOKALIKES: Final = str.maketrans({"\u00d7": "*", "\u00f7": "/", "\u2212": "-", "\u2013": "-", "\u22c5": "*"})
# Spellings people and models write for what the walker already does: a currency sign on an
# amount, "x" between numbers, "17% of 2340", "mod", "ln", a trailing "=" or "?".
_CURRENCY: Final = re.compile(r"[$€£¥]")
_TIMES_X: Final = re.compile(r"(?<=[\d)])\s+[xX]\s+(?=[\d(.])")
_PERCENT_OF: Final = re.compile(r"(\d)\s*%\s*of\s+", re.IGNORECASE)
_WORD_OPERATORS: Final = ((re.compile(r"\bmod\b", re.IGNORECASE), "%"), (re.compile(r"\bln\s*\("), "log("))
_TRAILING: Final = re.compile(r"\s*[=?]+\s*$")
VALID_FORMS: Final = (
    "use numbers, + - * / % ** ( ), 17%, pi, e, sqrt, log, exp, round, min, max; e.g. '(1234 + 5678) * 3'"
)
_ALLOWED_CHARS: Final = re.compile(r"[0-9A-Za-z+\-*/%^()., \t]*")
_THOUSANDS: Final = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?=[^\w,]|$)")
# A letter glued to a number ("2pi", "1if") is never valid arithmetic, and Python's tokenizer
# would print a SyntaxWarning to stderr for some of them; refusing up front keeps logs clean.
_GLUED_LETTER: Final = re.compile(
    r"(?<![\w.])(?>0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[A-Za-z]"
)
# "17%" is a percentage only when written against the number and followed by an operator,
# a closing bracket, a comma or the end; "10 % 3" and "10%3" stay the modulo operator.
_PERCENT: Final = re.compile(r"(?<![\w.])(\d+(?:\.\d*)?|\.\d+)%(?=\s*(?:$|[-+*/),]))")


class CalculatorArgs(BaseModel):
    expression: str = Field(
        description=(
            "An arithmetic expression, e.g. '0.17 * 2340' or 'sqrt(2) * 10'. Supports + - * / // % ** "
            "(or ^), parentheses, '17%' as 17/100, thousands separators like 2,340, the constants pi and e, "
            "and sqrt, log (natural; log(x, base) for another base), log10, exp, sin, cos, tan (radians), "
            "abs, round, min, max, floor, ceil. No variables, no units, no words."
        ),
        max_length=MAX_CHARS,
    )


def _power(base: Number, exponent: Number) -> Number:
    if abs(exponent) > MAX_EXPONENT:
        raise ToolInputError(f"exponent too large (limit {MAX_EXPONENT})")
    if base == 0:
        if exponent < 0:
            raise ToolInputError("division by zero")
        return base**exponent
    if base < 0 and not float(exponent).is_integer():
        raise ToolInputError("a negative number to a fractional power has no real result")
    # Estimating the size with logs first keeps 10**1000-style work from ever starting.
    if exponent * math.log10(abs(base)) > MAX_LOG10_RESULT:
        raise ToolInputError("result too large")
    return base**exponent


def _divide(a: Number, b: Number) -> Number:
    if b == 0:
        raise ToolInputError("division by zero")
    return a / b


def _floor_divide(a: Number, b: Number) -> Number:
    if b == 0:
        raise ToolInputError("division by zero")
    return a // b


def _modulo(a: Number, b: Number) -> Number:
    if b == 0:
        raise ToolInputError("division by zero")
    return a % b


_BINARY: Final[dict[type[ast.operator], Callable[[Number, Number], Number]]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: _divide,
    ast.FloorDiv: _floor_divide,
    ast.Mod: _modulo,
    ast.Pow: _power,
}


def _log(x: Number, base: Number | None = None) -> float:
    if x <= 0:
        raise ToolInputError("log is only defined for positive numbers")
    if base is None:
        return math.log(x)
    if base <= 0 or base == 1:
        raise ToolInputError("log base must be positive and not 1")
    return math.log(x) / math.log(base)


def _log10(x: Number) -> float:
    if x <= 0:
        raise ToolInputError("log10 is only defined for positive numbers")
    return math.log10(x)


def _sqrt(x: Number) -> float:
    if x < 0:
        raise ToolInputError("sqrt of a negative number has no real result")
    return math.sqrt(x)


def _round(x: Number, ndigits: Number | None = None) -> Number:
    if ndigits is None:
        return round(x)
    if not float(ndigits).is_integer() or abs(ndigits) > MAX_ROUND_DIGITS:
        raise ToolInputError(f"round() digits must be a whole number within +/-{MAX_ROUND_DIGITS}")
    return round(x, int(ndigits))


def _min(*args: Number) -> Number:
    return min(args)


def _max(*args: Number) -> Number:
    return max(args)


# name -> (callable, min args, max args)
FUNCTIONS: Final[dict[str, tuple[Callable[..., Number], int, int]]] = {
    "sqrt": (_sqrt, 1, 1),
    "log": (_log, 1, 2),
    "log10": (_log10, 1, 1),
    "exp": (math.exp, 1, 1),
    "sin": (math.sin, 1, 1),
    "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1),
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "min": (_min, 1, 20),
    "max": (_max, 1, 20),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
    "pow": (_power, 2, 2),
}


def _checked(value: Number) -> Number:
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolInputError("result is not a finite number")
    if abs(value) > MAX_RESULT:
        raise ToolInputError("result too large")
    return value


def _call_context(text: str) -> list[bool]:
    """For each position, whether the innermost open bracket belongs to a function call."""
    inside_call: list[bool] = []
    stack: list[bool] = []
    for i, ch in enumerate(text):
        if ch == "(":
            before = text[:i].rstrip()
            stack.append(bool(before) and (before[-1].isalnum() or before[-1] == "_"))
        elif ch == ")" and stack:
            stack.pop()
        inside_call.append(bool(stack) and stack[-1])
    return inside_call


def _strip_thousands(text: str) -> str:
    inside_call = _call_context(text)

    def replace(match: re.Match[str]) -> str:
        # Inside min(1,234) the comma separates arguments; elsewhere "2,340" can only be a number.
        return match.group(0) if inside_call[match.start()] else match.group(0).replace(",", "")

    return _THOUSANDS.sub(replace, text)


def normalize(expression: str) -> str:
    """Rewrite the friendly notations (thousands commas, 17%, ^, ×) into Python syntax."""
    text = _TRAILING.sub("", _CURRENCY.sub("", expression.translate(_LOOKALIKES))).strip()
    text = _PERCENT_OF.sub(r"\1% * ", _TIMES_X.sub(" * ", text))
    for pattern, replacement in _WORD_OPERATORS:
        text = pattern.sub(replacement, text)
    if not _ALLOWED_CHARS.fullmatch(text):
        bad = next(ch for ch in text if not _ALLOWED_CHARS.fullmatch(ch))
        raise ToolInputError(f"unsupported character {bad!r} in expression; {VALID_FORMS}")
    if glued := _GLUED_LETTER.search(text):
        raise ToolInputError(f"a letter follows a number in {glued.group(0)!r}; write 2*pi, not 2pi")
    text = _strip_thousands(text)
    text = _PERCENT.sub(r"(\1/100)", text)
    return text.replace("^", "**")


def _check_shape(tree: ast.AST) -> None:
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ToolInputError(f"expression too long (limit {MAX_NODES} parts)")
        if depth > MAX_DEPTH:
            raise ToolInputError(f"expression nested too deeply (limit {MAX_DEPTH})")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _literal(node: ast.Constant) -> Number:
    value = node.value
    # bool is an int subclass; True + True is not arithmetic anyone asked for.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolInputError("only numbers are allowed as literals")
    if isinstance(value, int) and abs(value) >= 10**MAX_LITERAL_DIGITS:
        raise ToolInputError(f"number literal too long (limit {MAX_LITERAL_DIGITS} digits)")
    return _checked(value)


def _call(node: ast.Call) -> Number:
    if not isinstance(node.func, ast.Name):
        raise ToolInputError("only the named functions can be called; write 3*(2), not 3(2)")
    if node.func.id not in FUNCTIONS:
        raise ToolInputError(f"unknown function {node.func.id!r}; allowed: {', '.join(FUNCTIONS)}")
    if node.keywords:
        raise ToolInputError("keyword arguments are not supported")
    func, low, high = FUNCTIONS[node.func.id]
    if not low <= len(node.args) <= high:
        expected = str(low) if low == high else f"{low} to {high}"
        raise ToolInputError(f"{node.func.id}() takes {expected} argument(s)")
    args = [_evaluate(arg) for arg in node.args]
    try:
        return func(*args)
    except ToolInputError:
        raise
    except OverflowError:
        raise ToolInputError("result too large") from None
    except (ValueError, TypeError):
        raise ToolInputError(f"{node.func.id}() cannot take that value") from None


def _evaluate(node: ast.AST) -> Number:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant):
        return _literal(node)
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise ToolInputError(f"unknown name {node.id!r}: no variables, units or words; {VALID_FORMS}")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        operand = _evaluate(node.operand)
        return _checked(-operand if isinstance(node.op, ast.USub) else +operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        try:
            return _checked(_BINARY[type(node.op)](left, right))
        except OverflowError:
            raise ToolInputError("result too large") from None
    if isinstance(node, ast.Call):
        return _checked(_call(node))
    if isinstance(node, ast.Tuple):
        raise ToolInputError("unexpected comma; write thousands as 2340 or 2,340")
    raise ToolInputError(f"unsupported syntax: {type(node).__name__}")


def evaluate(expression: str) -> Number:
    """Evaluate `expression` or raise ToolInputError; never runs anything but arithmetic."""
    if not isinstance(expression, str) or not expression.strip():
        raise ToolInputError("expression is empty")
    if len(expression) > MAX_CHARS:
        raise ToolInputError(f"expression too long (limit {MAX_CHARS} characters)")
    text = normalize(expression)
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ToolInputError(f"could not parse the expression; {VALID_FORMS}") from None
    _check_shape(tree)
    return _evaluate(tree)


def calculate(expression: str) -> str:
    return format_number(evaluate(expression))


calculator = CheckedTool.from_function(
    func=calculate,
    name="calculator",
    description=(
        "Evaluate an arithmetic expression exactly and return the number as text. "
        "Use it for any arithmetic instead of computing in your head."
    ),
    args_schema=CalculatorArgs,
    metadata={"version": "2", "ttl": 86400},
)
