"""A personal-budgeting assistant: the third example agent, written from the README alone."""
