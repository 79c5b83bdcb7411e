"""``exporter jobs submit|status|download|cancel``: the job API of a running service.

``download`` resumes: a broken download leaves ``PATH.part``; the next run asks only for the
rest (``Range`` + ``If-Range``, so a changed file restarts from zero), checks the SHA-256 the
service recorded, and only then renames the file to ``PATH``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from exporter.cli.arguments import add_param_option, parse_params
from exporter.cli.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_TEMPFAIL, EXIT_USAGE
from exporter.cli.progress import Progress, human_bytes
from exporter.compression import COMPRESSION_NAMES
from exporter.encoders import FORMATS

DEFAULT_SERVER = "http://127.0.0.1:8000"
#: How often ``--wait`` asks for the job's state.
WAIT_POLL_S = 0.5
DOWNLOAD_CHUNK_BYTES = 1024 * 1024


class JobCommandError(Exception):
    """A failure to report, with its exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("jobs", help="submit, follow and download background jobs")
    parser.add_argument(
        "--server", help=f"the service (default: EXPORTER_SERVER_URL or {DEFAULT_SERVER})"
    )
    parser.add_argument("--api-key", help="API key (default: EXPORTER_API_KEY)")
    actions = parser.add_subparsers(dest="action", required=True)

    submit = actions.add_parser("submit", help="queue an export; prints the job id")
    submit.add_argument("name", help="the export")
    add_param_option(submit)
    submit.add_argument("-f", "--format", choices=list(FORMATS), default="csv")
    submit.add_argument("-c", "--compression", choices=COMPRESSION_NAMES, default="none")
    submit.add_argument("--wait", action="store_true", help="wait until the job finishes")

    status = actions.add_parser("status", help="print a job (or recent jobs) as JSON")
    status.add_argument("job_id", nargs="?", help="omit to list recent jobs")

    download = actions.add_parser("download", help="download a job's file (resumes)")
    download.add_argument("job_id")
    download.add_argument("-o", "--output", help="default: the job's file name")
    download.add_argument("--wait", action="store_true", help="wait for the job to finish")

    cancel = actions.add_parser("cancel", help="cancel a job, or delete a finished job's file")
    cancel.add_argument("job_id")


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    server = args.server or environ.get("EXPORTER_SERVER_URL") or DEFAULT_SERVER
    api_key = args.api_key or environ.get("EXPORTER_API_KEY")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        with httpx.Client(base_url=server, headers=headers, timeout=60) as client:
            return _ACTIONS[args.action](client, args)
    except JobCommandError as exc:
        print(f"exporter: {exc}", file=sys.stderr)
        return exc.exit_code
    except httpx.TransportError as exc:
        print(f"exporter: cannot reach {server}: {exc}", file=sys.stderr)
        return EXIT_TEMPFAIL


def _submit(client: httpx.Client, args: argparse.Namespace) -> int:
    try:
        params = dict(parse_params(args.param))
    except ValueError as exc:
        raise JobCommandError(str(exc), EXIT_USAGE) from None
    body = {"export": args.name, "params": params, "format": args.format,
            "compression": args.compression}  # fmt: skip
    job = _checked(client.post("/jobs", json=body), usage_errors=True)
    print(job["id"])
    if not args.wait:
        return EXIT_OK
    return _exit_for(_wait(client, job["id"]))


def _status(client: httpx.Client, args: argparse.Namespace) -> int:
    response = client.get(_job_path(args.job_id) if args.job_id else "/jobs")
    _checked(response, usage_errors=True)  # an unknown job: one line and exit 2
    sys.stdout.write(response.text + "\n")
    return EXIT_OK


def _job_path(job_id: str) -> str:
    """The job's URL path: the id is one path segment, whatever it holds (``/``, ``?``, ``..``)."""
    return "/jobs/" + quote(job_id, safe="")


def _cancel(client: httpx.Client, args: argparse.Namespace) -> int:
    job = _checked(client.delete(_job_path(args.job_id)), usage_errors=True)
    print(f"{job['id']}: {job['state']}" + (" (cancelling)" if job["cancel_requested"] else ""))
    return EXIT_OK


def _download(client: httpx.Client, args: argparse.Namespace) -> int:
    job = _checked(client.get(_job_path(args.job_id)), usage_errors=True)
    if args.wait and job["state"] in ("queued", "running"):
        job = _wait(client, job["id"])
    if job["state"] != "succeeded" or not job["file"] or job["file"]["status"] != "available":
        file_status = job["file"]["status"] if job["file"] else "none"
        raise JobCommandError(f"job {job['id']} is {job['state']} (file: {file_status})")
    target = Path(args.output or job["file"]["name"])
    partial = target.with_name(target.name + ".part")
    expected_sha256: str = job["file"]["sha256"]
    size_bytes: int = job["file"]["bytes"]
    progress = Progress(f"{job['id']} -> {target}")
    _fetch_rest(client, job["file"]["download"], partial, expected_sha256, progress, size_bytes)
    digest = _sha256_of(partial)
    if digest != expected_sha256:
        partial.unlink()
        raise JobCommandError(
            f"checksum mismatch (got {digest}, the service recorded {expected_sha256}); "
            "the partial file was removed, run again to download from the start"
        )
    partial.replace(target)
    progress.done(
        f"exporter: {target}: {human_bytes(size_bytes)}, {job['rows']:,} rows, sha256 verified"
    )
    return EXIT_OK


def _fetch_rest(
    client: httpx.Client,
    url: str,
    partial: Path,
    etag_sha256: str,
    progress: Progress,
    size_bytes: int,
) -> None:
    """Append what ``partial`` lacks; start over if the server sends the whole file."""
    have = partial.stat().st_size if partial.exists() else 0
    if have >= size_bytes:
        return  # complete already (a run that was stopped before its checksum)
    headers = {"Range": f"bytes={have}-", "If-Range": f'"{etag_sha256}"'} if have else {}
    with client.stream("GET", url, headers=headers) as response:
        if response.status_code not in (200, 206):
            response.read()
            _checked(response)
        mode = "ab" if response.status_code == 206 else "wb"
        written = have if mode == "ab" else 0
        with partial.open(mode) as out:
            for chunk in response.iter_bytes(DOWNLOAD_CHUNK_BYTES):
                out.write(chunk)
                written += len(chunk)
                progress.update(None, written)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while block := data.read(DOWNLOAD_CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def _wait(client: httpx.Client, job_id: str) -> dict[str, Any]:
    progress = Progress(f"job {job_id}")
    while True:
        job = _checked(client.get(_job_path(job_id)))
        if job["state"] in ("succeeded", "failed", "cancelled"):
            summary = f"exporter: job {job_id} {job['state']}: {job['rows']:,} rows"
            if job["error"]:
                summary += f": {job['error']}"
            progress.done(summary)
            return job
        progress.update(job["rows"], job["bytes"])
        time.sleep(WAIT_POLL_S)


def _exit_for(job: dict[str, Any]) -> int:
    return EXIT_OK if job["state"] == "succeeded" else EXIT_FAILED


def _checked(response: httpx.Response, *, usage_errors: bool = False) -> dict[str, Any]:
    """The JSON body of a success; a JobCommandError with the problem's detail otherwise."""
    if response.is_success:
        body: dict[str, Any] = response.json()
        return body
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    if response.status_code == 503:
        code = EXIT_TEMPFAIL
    elif usage_errors and response.status_code in (404, 406, 422):
        code = EXIT_USAGE
    else:
        code = EXIT_FAILED
    raise JobCommandError(f"{response.status_code}: {detail}", code)


_ACTIONS = {"submit": _submit, "status": _status, "download": _download, "cancel": _cancel}
