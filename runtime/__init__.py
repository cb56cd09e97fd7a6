"""Infrastructure the graph runs on: settings, models, caches, limits, metrics, circuit breaker,
identity and grants, audit, usage metering. The floor: it imports no other package of the project.

Nothing is configured on import; see runtime/bootstrap.py.
"""
