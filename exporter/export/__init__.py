"""One export, from a request to bytes: the engine the API, the CLI and the jobs all drive.

- ``service``: the running exporter (pool, described catalog), admission, binding, path choice.
- ``plans``: whether an export runs as COPY (and how its text is read) or through a cursor.
- ``pumps``: an opened export's output produced into a writer (cursor batches, COPY as is, COPY
  parsed into columns).
- ``gather``: when enough COPY pieces are gathered (I/O-free).
- ``pipeline``: batches of rows encoded into chunks, with the counts and caps that watch them.
- ``watermarks``: incremental pulls: the signed token and the bound each pull may send.
"""

__all__ = ["gather", "pipeline", "plans", "pumps", "service", "watermarks"]
