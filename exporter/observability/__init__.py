"""What an operator sees: logs, metrics, and how each export ended.

- ``logs``: one handler for every logger, JSON or text, secrets redacted.
- ``metrics``: Prometheus metrics of exports and the pool, on a registry per app.
- ``outcomes``: the outcome and cause names shared by the log line and the metrics.
"""

__all__ = ["logs", "metrics", "outcomes"]
