"""The naive reference endpoint: fetch the whole result, then send it as one JSON response.

This is the common tutorial approach (``rows = await conn.fetch(sql); return rows``), kept here
as the contrast for memory and time to first byte; it is not part of the product. It is given
its best chance: orjson instead of FastAPI's ``jsonable_encoder`` (which would make it about ten
times slower and turn the comparison into one of JSON encoders), asyncpg's binary codecs, and
``str`` for the values JSON has no type for (``Decimal``), so numbers stay exact.

Run it as its own server: ``uvicorn --factory benchmarks.naive_app:create_app`` with
``NAIVE_DATABASE_URL``, ``NAIVE_SQL_FILE`` and ``NAIVE_APPLICATION_NAME`` set.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from benchmarks.harness.queries import read_query


def create_app(environ: Mapping[str, str] | None = None) -> FastAPI:
    """The naive app, configured from ``environ`` (``os.environ`` by default)."""
    env = os.environ if environ is None else environ
    database_url = env["NAIVE_DATABASE_URL"]
    query = read_query(Path(env["NAIVE_SQL_FILE"]))
    application_name = env.get("NAIVE_APPLICATION_NAME", "naive-reference")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(
            database_url,
            min_size=1,
            max_size=64,
            server_settings={"application_name": application_name},
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/export")
    async def export(request: Request) -> Response:
        pool: asyncpg.Pool = request.app.state.pool
        async with pool.acquire() as conn:
            rows = await conn.fetch(query)
        body = orjson.dumps([dict(row) for row in rows], default=str)
        return Response(body, media_type="application/json")

    return app
