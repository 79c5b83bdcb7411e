"""``exporter export NAME``: run one export straight against the database into a file.

For cron and batch jobs: the file appears atomically (complete, or not at all), the exit code
says what happened, and stderr gets a progress line on a terminal or one summary line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

import anyio

from exporter.catalog.params import ExportRequest
from exporter.cli.arguments import add_param_option, parse_params
from exporter.cli.exit_codes import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    exit_code_for,
)
from exporter.cli.progress import Progress, human_bytes
from exporter.compression import CODECS, COMPRESSION_NAMES, Codec, codec_named
from exporter.encoders import DEFAULT_FORMAT, FORMATS, Format
from exporter.errors import ExporterError, Rejected, RetryLater
from exporter.export.pipeline import StreamStats
from exporter.export.service import ExportService
from exporter.files.atomic import AtomicFile, OutputPlan, plan_output
from exporter.files.naming import export_filename
from exporter.files.writing import export_into, export_to_file
from exporter.settings import Settings

#: Output suffixes that choose the format or compression when the options do not.
_FORMAT_BY_SUFFIX = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "json",
                     ".arrow": "arrow", ".arrows": "arrow", ".parquet": "parquet",
                     ".xlsx": "xlsx"}  # fmt: skip
_COMPRESSION_BY_SUFFIX = {codec.file_suffix: name for name, codec in CODECS.items()}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "export",
        help="run an export against the database (no server) into a file or stdout",
        description=__doc__,
    )
    parser.add_argument("name", help="the export (a file in EXPORTER_SQL_DIR)")
    add_param_option(parser)
    parser.add_argument(
        "-f", "--format", choices=list(FORMATS),
        help="output format (default: from the output's suffix, else ndjson)",
    )  # fmt: skip
    parser.add_argument(
        "-o", "--output",
        help="file to write atomically, or - for stdout (default: NAME-<UTC time>.<format>)",
    )  # fmt: skip
    parser.add_argument(
        "-c", "--compression", choices=COMPRESSION_NAMES,
        help="compress the output (default: from a .gz/.zst suffix, else none)",
    )  # fmt: skip
    parser.add_argument("--fetch-rows", type=int, help="rows per cursor round trip")
    parser.add_argument(
        "--after", metavar="TOKEN",
        help="incremental pull: only rows after this Exporter-Watermark token",
    )  # fmt: skip
    parser.add_argument(
        "--state", metavar="FILE", type=Path,
        help="incremental pull: read the token from FILE (if it exists) and, once the output "
        "is complete, write the new one to it atomically",
    )  # fmt: skip


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Run the export; returns the exit code."""
    try:
        settings = Settings.from_env(environ)
        if not settings.database_url:
            raise Rejected("DATABASE_URL is not set: `exporter export` reads from it")
        items = _request_items(args)
        # Before any work: a directory or an unwritable path fails now, not after the export.
        plan = None if args.output in (None, "-") else plan_output(Path(args.output))
    except ExporterError as exc:
        return _fail(str(exc), EXIT_USAGE)
    return asyncio.run(_run_interruptibly(settings, args, items, plan))


def _request_items(args: argparse.Namespace) -> list[tuple[str, str]]:
    try:
        items = parse_params(args.param)
    except ValueError as exc:
        raise Rejected(str(exc)) from None
    items.append(("format", _choose_format(args)))
    if args.fetch_rows is not None:
        items.append(("fetch_rows", str(args.fetch_rows)))
    after = args.after
    if after is None and args.state is not None and args.state.exists():
        after = args.state.read_text(encoding="utf-8").strip() or None
    if after is not None:
        items.append(("after", after))
    return items


def _save_state(path: Path, token: str | None) -> None:
    """Write the token next to ``path`` and rename it over: never a half-written state."""
    if token is None:
        return
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(token + "\n", encoding="utf-8")
    temporary.replace(path)


def _choose_format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    suffixes = [suffix.lower() for suffix in Path(args.output or "").suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION_BY_SUFFIX:
        suffixes = suffixes[:-1]
    return _FORMAT_BY_SUFFIX.get(suffixes[-1] if suffixes else "", DEFAULT_FORMAT.name)


def _choose_compression(args: argparse.Namespace) -> str:
    if args.compression:
        return str(args.compression)
    return _COMPRESSION_BY_SUFFIX.get(Path(args.output or "").suffix.lower(), "none")


async def _run_interruptibly(
    settings: Settings,
    args: argparse.Namespace,
    items: list[tuple[str, str]],
    plan: OutputPlan | None,
) -> int:
    """SIGINT/SIGTERM cancel the export: the temporary file goes, the query is cancelled."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    try:
        return await _export(settings, args, items, plan)
    except asyncio.CancelledError:
        return _fail("interrupted; nothing was written", EXIT_INTERRUPTED)


async def _export(
    settings: Settings,
    args: argparse.Namespace,
    items: list[tuple[str, str]],
    plan: OutputPlan | None,
) -> int:
    try:
        service = await ExportService.start(settings)
    except ExporterError as exc:
        return _fail(str(exc), exit_code_for(exc))
    try:
        try:
            request = service.bind(args.name, items)
        except ExporterError as exc:
            return _fail(str(exc), exit_code_for(exc))
        output = FORMATS[request.format_name or DEFAULT_FORMAT.name]
        codec = codec_named(_choose_compression(args))
        to_stdout = args.output == "-"
        if plan is None and not to_stdout:
            extension = output.extension + (codec.file_suffix if codec else "")
            plan = plan_output(Path(export_filename(args.name, extension)))
        target = plan.path if plan is not None else Path("-")
        stats = StreamStats()
        progress = Progress(f"{args.name} -> {'stdout' if to_stdout else target}")
        written: list[AtomicFile] = []

        async def report() -> None:
            while True:
                size = written[0].size_bytes if written else stats.bytes
                progress.update(stats.rows, size)
                await anyio.sleep(0.05)

        reporter = asyncio.create_task(report())
        try:
            if to_stdout:
                await export_into(service, request, output, _write_stdout, codec=codec, stats=stats)
                size_bytes, detail = stats.bytes, "to stdout"
            elif plan is not None and plan.direct:
                await _export_in_place(service, request, output, target, codec, stats)
                size_bytes, detail = stats.bytes, f"into {target} (written in place)"
            else:
                result = await export_to_file(
                    service, request, output, target, codec=codec, stats=stats,
                    on_open=written.append, mode=settings.file_mode_bits,
                )  # fmt: skip
                size_bytes, detail = result.size_bytes, f"to {target} (sha256 {result.sha256})"
        except Exception as exc:  # any failure: reported, never a partial file
            where = "stdout is incomplete" if to_stdout else f"nothing was written to {target}"
            if isinstance(exc, RetryLater):
                return _fail(f"{exc}; {where}", exit_code_for(exc), progress)
            return _fail(
                f"export {args.name} failed after {stats.rows:,} rows: {exc}; {where}",
                exit_code_for(exc), progress,
            )  # fmt: skip
        finally:
            reporter.cancel()
        if args.state is not None:
            _save_state(args.state, stats.watermark)
        progress.done(
            f"exporter: {args.name}: {stats.rows:,} rows, {human_bytes(size_bytes)} {detail} "
            f"in {progress.elapsed_s:.1f} s ({stats.rows / max(progress.elapsed_s, 1e-9):,.0f} "
            "rows/s)"
        )
        return EXIT_OK
    finally:
        await service.close()


async def _export_in_place(
    service: ExportService,
    request: ExportRequest,
    output: Format,
    target: Path,
    codec: Codec | None,
    stats: StreamStats,
) -> None:
    """Write into a device, a FIFO or ``/dev/stdout`` as it is: never replaced, never
    truncated (appended to, as a shell's ``>>`` would)."""
    fd = await anyio.to_thread.run_sync(os.open, target, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    try:

        async def write(chunk: bytes) -> None:
            view = memoryview(chunk)
            while view:
                written = await anyio.to_thread.run_sync(os.write, fd, view)
                view = view[written:]

        await export_into(service, request, output, write, codec=codec, stats=stats)
    finally:
        os.close(fd)


async def _write_stdout(chunk: bytes) -> None:
    # A blocking write: a slow reader on the pipe holds the export back (backpressure).
    await anyio.to_thread.run_sync(sys.stdout.buffer.write, chunk)


def _fail(message: str, code: int, progress: Progress | None = None) -> int:
    if progress is not None:
        progress.done(f"exporter: {message}")
    else:
        print(f"exporter: {message}", file=sys.stderr)
    return code
