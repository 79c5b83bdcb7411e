"""``exporter keys new --id NAME``: make an API key; print its token once and the keys file
entry that holds only the token's SHA-256."""

from __future__ import annotations

import argparse
import sys

from exporter.access.keys import KEY_ID, keys_file_entry, new_token, token_sha256


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("keys", help="API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    new_key = key_commands.add_parser(
        "new", help="make a key: print its token (once) and the keys file entry"
    )
    new_key.add_argument("--id", required=True, dest="key_id", help=f"key id ({KEY_ID.pattern})")
    new_key.add_argument(
        "--exports",
        default="*",
        help="comma-separated export names or globs the key may use (default: all)",
    )


def run(args: argparse.Namespace) -> int:
    """``keys new``: returns the exit code."""
    return _new_key(args.key_id, args.exports)


def _new_key(key_id: str, exports: str) -> int:
    patterns = [pattern.strip() for pattern in exports.split(",") if pattern.strip()]
    if not KEY_ID.fullmatch(key_id) or not patterns:
        print(
            f"exporter: key id must match {KEY_ID.pattern}; --exports must name at least one",
            file=sys.stderr,
        )
        return 2
    token = new_token(key_id)
    print(
        "# The token, shown this once (only its SHA-256 is kept); give it to the client:\n"
        f"{token}\n"
        "# Append to the keys file (EXPORTER_KEYS_FILE):\n"
        f"{keys_file_entry(key_id, token, patterns)}",
        end="",
    )
    if patterns == ["*"]:
        print(
            "# Or, as the one key in the environment:\n"
            f"EXPORTER_API_KEY_SHA256={key_id}:{token_sha256(token).hex()}"
        )
    return 0
