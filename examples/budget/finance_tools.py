"""A personal-budgeting assistant's tools: deterministic, offline, fixed demo data."""
from __future__ import annotations

from typing import Literal

from langchain_core.tools import tool

_BALANCES = {"checking": 2418.37, "savings": 10250.00, "credit_card": -734.12}

_CATEGORIES = ("groceries", "dining", "transport", "entertainment", "utilities", "rent")
_SPENDING = {  # month -> category -> amount spent (USD)
    "2025-04": {"groceries": 512.40, "dining": 188.75, "transport": 96.20, "entertainment": 64.99,
                "utilities": 141.30, "rent": 1450.00},
    "2025-05": {"groceries": 478.15, "dining": 243.10, "transport": 120.00, "entertainment": 35.00,
                "utilities": 128.90, "rent": 1450.00},
    "2025-06": {"groceries": 301.62, "dining": 97.40, "transport": 54.80, "entertainment": 89.99,
                "utilities": 0.00, "rent": 1450.00},
}
_CURRENT_MONTH = "2025-06"
_BUDGET = {"groceries": 500.0, "dining": 200.0, "transport": 150.0, "entertainment": 100.0,
           "utilities": 150.0, "rent": 1450.0}


@tool
def get_balance(account: Literal["checking", "savings", "credit_card"]) -> str:
    """Current balance of one of the user's accounts: checking, savings or credit_card
    (a credit card balance is negative when money is owed)."""
    return f"{account} balance: ${_BALANCES[account]:,.2f}"


@tool
def spending_by_category(category: str, month: str | None = None) -> str:
    """Total the user spent in one budget category (groceries, dining, transport, entertainment,
    utilities, rent) during a month given as YYYY-MM; without a month, the current month."""
    month = month or _CURRENT_MONTH
    cat = category.strip().lower()
    if cat not in _CATEGORIES:
        raise ValueError(f"unknown category {category!r}; one of {', '.join(_CATEGORIES)}")
    if month not in _SPENDING:
        raise ValueError(f"no data for {month}; months on file: {', '.join(_SPENDING)}")
    return f"Spent on {cat} in {month}: ${_SPENDING[month][cat]:,.2f}"


@tool
def budget_remaining(category: str) -> str:
    """How much of this month's budget is left in one category (groceries, dining, transport,
    entertainment, utilities, rent), with the monthly budget and the amount spent so far."""
    cat = category.strip().lower()
    if cat not in _BUDGET:
        raise ValueError(f"unknown category {category!r}; one of {', '.join(_CATEGORIES)}")
    spent = _SPENDING[_CURRENT_MONTH][cat]
    left = _BUDGET[cat] - spent
    return (f"{cat} budget for {_CURRENT_MONTH}: ${_BUDGET[cat]:,.2f}; spent ${spent:,.2f}; "
            f"remaining ${left:,.2f}")


@tool
def loan_payment(principal: float, annual_rate_percent: float, years: int) -> str:
    """Fixed monthly payment on an amortized loan: the amount borrowed, the yearly interest rate
    in percent (e.g. 6.5) and the term in whole years."""
    n = years * 12
    r = annual_rate_percent / 100 / 12
    pay = principal / n if r == 0 else principal * r / (1 - (1 + r) ** -n)
    return (f"Monthly payment on ${principal:,.2f} at {annual_rate_percent}% for {years} years: "
            f"${pay:,.2f} (total paid ${pay * n:,.2f})")


@tool
def split_bill(total: float, people: int, tip_percent: float = 0.0) -> str:
    """Split a bill evenly between a number of people, optionally adding a tip in percent first."""
    if people < 1:
        raise ValueError("people must be at least 1")
    with_tip = total * (1 + tip_percent / 100)
    return (f"${total:,.2f} plus {tip_percent}% tip = ${with_tip:,.2f}; "
            f"each of {people} pays ${with_tip / people:,.2f}")


TOOLS = [get_balance, spending_by_category, budget_remaining, loan_payment, split_bill]
