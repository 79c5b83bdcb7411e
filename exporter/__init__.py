"""exporter: stream PostgreSQL query results over HTTP in constant memory."""

__version__ = "0.1.0"
