"""An IT helpdesk assistant: the fourth example agent, written from the README alone."""
