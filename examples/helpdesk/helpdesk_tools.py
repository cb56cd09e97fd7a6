"""IT helpdesk / office assistant tools for a small company (offline demo data)."""
from __future__ import annotations

from datetime import date
from typing import Any, Literal

from langchain_core.tools import tool

_TICKETS = {
    1041: {"title": "Laptop won't boot", "status": "in progress", "assignee": "Priya", "priority": "high"},
    1042: {"title": "VPN drops every hour", "status": "open", "assignee": "unassigned", "priority": "medium"},
    1043: {"title": "New monitor request", "status": "closed", "assignee": "Tom", "priority": "low"},
    1050: {"title": "Outlook search broken", "status": "waiting on user", "assignee": "Priya", "priority": "medium"},
    1057: {"title": "Printer jam 2nd floor", "status": "resolved", "assignee": "Tom", "priority": "low"},
}

_EMPLOYEES = {
    "alice martin": {"ext": 214, "dept": "Finance", "username": "amartin"},
    "bob chen": {"ext": 231, "dept": "Sales", "username": "bchen"},
    "carla diaz": {"ext": 245, "dept": "HR", "username": "cdiaz"},
    "dev patel": {"ext": 262, "dept": "Engineering", "username": "dpatel"},
    "emma roberts": {"ext": 270, "dept": "Operations", "username": "eroberts"},
    "frank okafor": {"ext": 288, "dept": "IT", "username": "fokafor"},
}

_ROOMS: dict[str, dict[str, Any]] = {
    "harbor": {"seats": 8, "booked": {("2026-03-10", "09:00"), ("2026-03-10", "14:00"), ("2026-03-12", "10:00")}},
    "summit": {"seats": 4, "booked": {("2026-03-10", "10:00"), ("2026-03-11", "15:00")}},
    "orchard": {"seats": 12, "booked": {("2026-03-12", "09:00"), ("2026-03-12", "13:00")}},
}

_next_ticket = [1100]


def _find_employee(name: str) -> tuple[str | None, dict[str, Any] | None]:
    key = name.strip().lower()
    if key in _EMPLOYEES:
        return key, _EMPLOYEES[key]
    for full, rec in _EMPLOYEES.items():
        if key and (key in full.split() or key == rec["username"]):
            return full, rec
    return None, None


@tool
def ticket_status(ticket_id: int) -> str:
    """Look up the current status, assignee and priority of an existing helpdesk ticket by its number (e.g. 1042)."""
    t = _TICKETS.get(int(ticket_id))
    if t is None:
        return f"No ticket #{ticket_id} found."
    return (f"Ticket #{ticket_id} '{t['title']}': status {t['status']}, "
            f"assigned to {t['assignee']}, priority {t['priority']}.")


@tool
def open_ticket(summary: str, priority: Literal["low", "medium", "high", "urgent"] = "medium",
                requester: str | None = None) -> str:
    """Open a new helpdesk ticket describing an IT problem or request, with a priority
    (low, medium, high or urgent; medium if not given) and optionally the requesting employee's name."""
    num = _next_ticket[0]
    _next_ticket[0] += 1
    who = f" for {requester}" if requester else ""
    return f"Opened ticket #{num}{who}: '{summary}' with priority {priority}."


@tool
def reset_password(employee: str, system: Literal["email", "vpn", "laptop", "wifi"] = "email") -> str:
    """Reset an employee's password for one system (email, vpn, laptop or wifi; email if not given)
    and send a temporary password to their manager. Takes the employee's name or username."""
    full, rec = _find_employee(employee)
    if full is None or rec is None:
        return f"No employee named '{employee}'."
    return (f"Reset the {system} password for {full.title()} ({rec['username']}); "
            f"a temporary password was sent to their manager. It expires in 24 hours.")


@tool
def room_availability(room: Literal["harbor", "summit", "orchard"], day: str, start_time: str) -> str:
    """Check whether a meeting room (harbor, summit or orchard) is free on a date (YYYY-MM-DD)
    for the one-hour slot starting at start_time (HH:MM, 24-hour, 08:00-17:00)."""
    r = _ROOMS.get(room.lower())
    if r is None:
        return f"Unknown room '{room}'."
    try:
        d = date.fromisoformat(day)
    except ValueError:
        return f"'{day}' is not a date in YYYY-MM-DD form."
    hh = start_time.strip()
    if len(hh) == 4:
        hh = "0" + hh
    if not ("08:00" <= hh <= "17:00"):
        return f"Rooms can only be checked between 08:00 and 17:00, not {start_time}."
    if d.weekday() >= 5:
        return f"The office is closed on {d.strftime('%A')} {day}."
    busy = (day, hh) in r["booked"]
    state = "booked" if busy else "free"
    return f"Room {room} ({r['seats']} seats) is {state} on {d.strftime('%A')} {day} at {hh}."


@tool
def phone_extension(name: str) -> str:
    """Look up a colleague's desk phone extension and department by their name (first name, full name or username)."""
    full, rec = _find_employee(name)
    if full is None or rec is None:
        return f"No employee named '{name}'."
    return f"{full.title()} ({rec['dept']}) is on extension {rec['ext']}."


TOOLS = [ticket_status, open_ticket, reset_password, room_availability, phone_extension]
