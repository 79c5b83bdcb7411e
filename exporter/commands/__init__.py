"""The ``exporter`` subcommands beyond ``serve``: ``export`` (run an export to a file, no server)
and ``jobs`` (the job API of a running service)."""
