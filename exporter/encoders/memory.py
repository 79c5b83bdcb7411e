"""Which allocator Arrow's buffers come from, chosen once when a service starts.

pyarrow's default in the Linux wheels is mimalloc, which keeps freed pages committed: after a
5M-row Parquet export (37 MB of live Arrow memory at its peak) a service stayed at 212 MB.
jemalloc hands them back within about a second (157 MB), and the COPY path spent 4-10% less
server CPU a row with it in the same benchmark run (benchmarks/README.md).
``ARROW_DEFAULT_MEMORY_POOL``, Arrow's own variable, still wins when it is set.
"""

from __future__ import annotations

import logging
import os

import pyarrow as pa

log = logging.getLogger(__name__)


def choose_memory_pool(environ: dict[str, str] | None = None) -> str:
    """Make jemalloc Arrow's default pool unless ``ARROW_DEFAULT_MEMORY_POOL`` names one.

    Returns the backend in use. A pyarrow built without jemalloc keeps its default.
    """
    env = os.environ if environ is None else environ
    if not env.get("ARROW_DEFAULT_MEMORY_POOL"):
        try:
            pa.set_memory_pool(pa.jemalloc_memory_pool())
        except NotImplementedError:
            log.info("pyarrow has no jemalloc here; Arrow keeps its default allocator")
    backend: str = pa.default_memory_pool().backend_name
    return backend
