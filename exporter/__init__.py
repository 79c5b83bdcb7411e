"""exporter: stream PostgreSQL query results over HTTP in constant memory.

Leaves (``errors``, ``settings``, ``units``, ``columns``, ``compression``) and one package per
concern; docs/architecture.md maps them and how a request flows through them.
"""

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "access",
    "api",
    "catalog",
    "cli",
    "columns",
    "compression",
    "db",
    "encoders",
    "errors",
    "export",
    "files",
    "jobs",
    "observability",
    "settings",
    "units",
]
