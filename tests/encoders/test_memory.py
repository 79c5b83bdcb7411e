"""The service picks jemalloc for Arrow's buffers, unless Arrow's own variable says otherwise."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest

from exporter.encoders.memory import choose_memory_pool


@pytest.fixture
def restore_pool() -> Iterator[None]:
    before = pa.default_memory_pool()
    yield
    pa.set_memory_pool(before)


def has_jemalloc() -> bool:
    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        return False
    return True


@pytest.mark.skipif(not has_jemalloc(), reason="this pyarrow is built without jemalloc")
def test_jemalloc_by_default(restore_pool: None) -> None:
    pa.set_memory_pool(pa.system_memory_pool())
    assert choose_memory_pool({}) == "jemalloc"
    assert pa.default_memory_pool().backend_name == "jemalloc"


def test_arrows_own_variable_wins(restore_pool: None) -> None:
    pa.set_memory_pool(pa.system_memory_pool())
    assert choose_memory_pool({"ARROW_DEFAULT_MEMORY_POOL": "system"}) == "system"
    assert pa.default_memory_pool().backend_name == "system"
