"""Entry points and serving: the CLI, `agent-up`, the local model server and its build, self-hosting,
auth and the custom HTTP app. The top of the stack: nothing else imports it."""
