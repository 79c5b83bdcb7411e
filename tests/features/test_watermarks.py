"""Incremental pulls: no row lost, none sent twice, while writers insert concurrently."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from exporter.errors import InvalidParameter
from exporter.export.pipeline import StreamStats
from exporter.export.service import ExportService
from exporter.settings import Settings
from tests.cli.test_export import run_export
from tests.support.streams import stream_into

EXPORTS = {
    "events_seq": "-- Test only: a sequence watermark.\n-- watermark: id\n"
    "SELECT id, writer FROM bi.events_seq ORDER BY id\n",
    "events_ts": "-- Test only: a clock_timestamp() watermark.\n-- watermark: at\n"
    "SELECT id, at, writer FROM bi.events_ts ORDER BY at, id\n",
}
SCHEMA = """
DROP SCHEMA IF EXISTS bi CASCADE;
CREATE SCHEMA bi;
CREATE TABLE bi.events_seq (id bigserial PRIMARY KEY, writer int NOT NULL);
CREATE TABLE bi.events_ts (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    writer int NOT NULL
);
CREATE INDEX ON bi.events_ts (at);
"""


@pytest.fixture
async def bi_service(database_url: str, tmp_path: Path) -> AsyncIterator[ExportService]:
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(SCHEMA)
    finally:
        await admin.close()
    for name, sql in EXPORTS.items():
        (tmp_path / f"{name}.sql").write_text(sql)
    settings = Settings.from_env({}, database_url=database_url, sql_dir=tmp_path)
    service = await ExportService.start(settings)
    try:
        yield service
    finally:
        await service.close()


async def pull(service: ExportService, export: str, after: str | None) -> tuple[list[int], str]:
    """One pull: the ids it sent and its token."""
    items = [] if after is None else [("after", after)]
    stats, out = StreamStats(), bytearray()
    await stream_into(service, service.bind(export, items), "ndjson", out, stats)
    assert stats.watermark is not None
    return [json.loads(line)["id"] for line in out.decode().splitlines()], stats.watermark


async def writer(
    database_url: str, table: str, number: int, stop: asyncio.Event, *, hold_s: float
) -> int:
    """Insert rows in short transactions until ``stop``; with ``hold_s``, each transaction
    inserts and then stays open that long (across pulls) before it commits."""
    conn = await asyncpg.connect(database_url, server_settings={"application_name": "bi-writer"})
    transactions = 0
    try:
        while not stop.is_set():
            async with conn.transaction():
                for _ in range(random.randint(1, 3)):
                    await conn.execute(f"INSERT INTO bi.{table} (writer) VALUES ($1)", number)
                await asyncio.sleep(hold_s or random.uniform(0, 0.02))
            transactions += 1
            await asyncio.sleep(hold_s / 2)  # long ones: a gap before the next
    finally:
        await conn.close()
    return transactions


@pytest.mark.parametrize("table", ["events_seq", "events_ts"])
async def test_pulls_while_writing_lose_nothing_and_repeat_nothing(
    bi_service: ExportService, database_url: str, table: str
) -> None:
    stop = asyncio.Event()
    holds = [0.0] * 5 + [1.5, 2.5]  # two writers hold every transaction open across pulls
    writers = [
        asyncio.create_task(writer(database_url, table, n, stop, hold_s=hold))
        for n, hold in enumerate(holds)
    ]
    sent: list[int] = []
    token: str | None = None
    pulls = nonempty = 0
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        ids, token = await pull(bi_service, table, token)
        sent += ids
        pulls += 1
        nonempty += bool(ids)
        await asyncio.sleep(random.uniform(0, 0.1))
    stop.set()
    transactions = await asyncio.gather(*writers)
    # Every writer has committed: pull until the pulls catch up (a deadline, not a count).
    catch_up_deadline = time.monotonic() + 30
    conn = await asyncpg.connect(database_url)
    try:
        table_ids = [r["id"] for r in await conn.fetch(f"SELECT id FROM bi.{table} ORDER BY id")]
    finally:
        await conn.close()
    while sorted(sent) != table_ids and time.monotonic() < catch_up_deadline:
        ids, token = await pull(bi_service, table, token)
        sent += ids
        pulls += 1
    assert len(sent) == len(set(sent)), "a row was sent twice"
    assert sorted(sent) == table_ids, f"lost {len(set(table_ids) - set(sent))} rows"
    assert nonempty >= 2, "the pulls did not run while the writers wrote"
    assert sum(transactions[-2:]) >= 2, "no transaction was held open across pulls"
    print(
        f"\n{table}: {len(holds)} writers ({sum(transactions)} transactions, "
        f"{sum(transactions[-2:])} held open 1.5-2.5 s), {pulls} pulls "
        f"({nonempty} with rows while writing), {len(table_ids)} rows, none lost or repeated"
    )


async def test_a_row_committed_after_a_later_one_is_not_lost(
    bi_service: ExportService, database_url: str
) -> None:
    """The classic loss, made to happen: a sequence value taken, a later one committed, a
    pull, then the earlier one committed. A bound at the visible maximum would skip it."""
    early = await asyncpg.connect(database_url)
    late = await asyncpg.connect(database_url)
    try:
        _, token = await pull(bi_service, "events_seq", None)
        transaction = early.transaction()
        await transaction.start()
        early_id = await early.fetchval(
            "INSERT INTO bi.events_seq (writer) VALUES (1) RETURNING id"
        )
        late_id = await late.fetchval("INSERT INTO bi.events_seq (writer) VALUES (2) RETURNING id")
        assert early_id < late_id
        first, token = await pull(bi_service, "events_seq", token)
        visible_max = await late.fetchval("SELECT max(id) FROM bi.events_seq")
        assert visible_max == late_id  # what a naive bound would have moved to
        assert early_id not in first
        await transaction.commit()
        second, token = await pull(bi_service, "events_seq", token)
        assert early_id in first + second and late_id in first + second
        assert len(first + second) == len(set(first + second))
        third, _ = await pull(bi_service, "events_seq", token)
        assert third == []
    finally:
        await early.close()
        await late.close()


async def test_tokens_are_tamper_evident_and_belong_to_one_export(
    bi_service: ExportService,
) -> None:
    _, token = await pull(bi_service, "events_seq", None)
    payload, signature = token.split(".")
    for forged in (payload + "x." + signature, payload + "." + signature[:-2], "junk", ""):
        with pytest.raises(InvalidParameter) as raised:
            bi_service.bind("events_seq", [("after", forged)])
        assert raised.value.name == "after"
    with pytest.raises(InvalidParameter, match="a token of export 'events_seq'"):
        bi_service.bind("events_ts", [("after", token)])
    other = ExportService(
        settings=bi_service.settings, pool=bi_service.pool, catalog=bi_service.catalog,
        encode_limiter=bi_service.encode_limiter,
    )  # fmt: skip
    with pytest.raises(InvalidParameter, match="another EXPORTER_WATERMARK_SECRET"):
        other.bind("events_seq", [("after", token)])


async def test_the_cli_state_file_pulls_only_what_is_new(
    bi_service: ExportService, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each run is a new process: without a shared key, its tokens would not survive (and are
    # refused, as the first assertion below shows).
    sql_dir = bi_service.settings.sql_dir
    state = tmp_path / "events.state"
    conn = await asyncpg.connect(database_url)

    def pulled() -> list[int]:
        out = tmp_path / "out.ndjson"
        done = run_export(
            "events_seq", "-o", str(out), "--state", str(state),
            database_url=database_url, sql_dir=sql_dir,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr.decode()
        return [json.loads(line)["id"] for line in out.read_text().splitlines()]

    try:
        insert = "INSERT INTO bi.events_seq (writer) SELECT 1 FROM generate_series(1, $1)"
        await conn.execute(insert, 3)
        state.write_text(
            token_of_another_process := (await pull(bi_service, "events_seq", None))[1]
        )
        refused = run_export(
            "events_seq", "-o", str(tmp_path / "x.ndjson"), "--state", str(state),
            database_url=database_url, sql_dir=sql_dir,
        )  # fmt: skip
        assert refused.returncode == 2 and b"EXPORTER_WATERMARK_SECRET" in refused.stderr
        assert state.read_text() == token_of_another_process
        state.unlink()
        monkeypatch.setenv("EXPORTER_WATERMARK_SECRET", "k" * 40)
        first = await asyncio.to_thread(pulled)
        assert len(first) == 3 and state.read_text().strip()
        assert await asyncio.to_thread(pulled) == []
        await conn.execute(insert, 2)
        second = await asyncio.to_thread(pulled)
        assert len(second) == 2 and min(second) > max(first)
    finally:
        await conn.close()
