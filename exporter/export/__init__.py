"""One export, from a request to bytes: the engine the API, the CLI and the jobs all drive.

- ``service``: the running exporter (pool, described catalog), admission, binding, path choice.
- ``plans``: whether an export runs as COPY (and how its text is read) or through a cursor.
- ``pipeline``: batches of rows encoded into chunks, with the counts and caps that watch them.
"""

__all__ = ["pipeline", "plans", "service"]
