"""Test doubles shared by tests/ and benchmarks/: a scripted DSPy LM, a scripted OpenAI-compatible
model server, and helpers to serve an app or `langgraph dev` on a loopback port."""
