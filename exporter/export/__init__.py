"""One export, from a request to bytes: the engine the API, the CLI and the jobs all drive.

- ``service``: the running exporter (pool, described catalog), admission, binding, path choice.
- ``plans``: whether an export runs as COPY (and how its text is read) or through a cursor.
- ``pumps``: an opened export's output produced into a writer (cursor batches, COPY as is, COPY
  parsed into columns).
- ``gather``: when enough COPY pieces are gathered (I/O-free).
- ``pipeline``: batches of rows encoded into chunks, with the counts and caps that watch them.
"""

__all__ = ["gather", "pipeline", "plans", "pumps", "service"]
