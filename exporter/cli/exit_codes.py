"""What the ``exporter`` command's exit code means (sysexits.h where one fits).

A cron wrapper or an Airflow task can retry on 75 only: the error's category decides it.
"""

from __future__ import annotations

from exporter.errors import Rejected, RetryLater

EXIT_OK = 0
#: The export started and failed (its query, a write error, ...): look at the message.
EXIT_FAILED = 1
#: The request or the configuration is wrong (unknown export, bad parameter or setting).
EXIT_USAGE = 2
#: The database is unreachable or busy: the same command may work later.
EXIT_TEMPFAIL = 75
EXIT_INTERRUPTED = 130


def exit_code_for(exc: BaseException) -> int:
    """The exit code for a command that ended with ``exc``: by the error's category."""
    if isinstance(exc, Rejected):
        return EXIT_USAGE
    if isinstance(exc, RetryLater):
        return EXIT_TEMPFAIL
    return EXIT_FAILED
