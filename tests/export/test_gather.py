"""When a gathered unit of COPY pieces is ready: first alone, then by size or by waiting."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from exporter.export.gather import Gatherer


@dataclass
class FakeClock:
    now_s: float = 100.0

    def __call__(self) -> float:
        return self.now_s


def take_all(gatherer: Gatherer) -> bytes:
    with gatherer.take() as unit:
        return bytes(unit)


def test_the_first_piece_is_ready_at_once_for_an_early_first_byte() -> None:
    gatherer = Gatherer(target_bytes=1000, hold_s=0.2, clock=FakeClock())
    assert gatherer.push(b"header\n")
    assert take_all(gatherer) == b"header\n"
    assert gatherer.size == 0 and gatherer.taken == 1


def test_later_pieces_wait_until_the_unit_reaches_the_target_size() -> None:
    gatherer = Gatherer(target_bytes=10, hold_s=0.2, clock=FakeClock())
    gatherer.push(b"first\n")
    take_all(gatherer)
    assert not gatherer.push(b"abc\n")
    assert not gatherer.push(b"def\n")
    assert gatherer.push(b"ghi\n")  # 12 bytes >= 10
    assert take_all(gatherer) == b"abc\ndef\nghi\n"


def test_a_piece_that_waited_hold_s_is_released_with_the_next_one() -> None:
    clock = FakeClock()
    gatherer = Gatherer(target_bytes=1 << 20, hold_s=0.2, clock=clock)
    gatherer.push(b"first\n")
    take_all(gatherer)
    assert not gatherer.push(b"slow\n")
    clock.now_s += 0.19
    assert not gatherer.push(b"rows\n")
    clock.now_s += 0.01  # the oldest piece has now waited 0.2 s
    assert gatherer.push(b"trickle\n")
    assert take_all(gatherer) == b"slow\nrows\ntrickle\n"


def test_the_wait_counts_from_the_oldest_piece_of_the_unit_not_the_last_take() -> None:
    clock = FakeClock()
    gatherer = Gatherer(target_bytes=1 << 20, hold_s=0.2, clock=clock)
    gatherer.push(b"first\n")
    take_all(gatherer)
    clock.now_s += 10  # nothing arrived for a long time
    assert not gatherer.push(b"fresh\n")  # it has not waited itself


def test_the_buffer_is_reused_and_a_taken_view_is_released() -> None:
    gatherer = Gatherer(target_bytes=4, hold_s=1.0, clock=FakeClock())
    gatherer.push(b"a\n")
    with gatherer.take() as unit:
        held = unit
    with pytest.raises(ValueError, match="released"):
        bytes(held)  # the view died with its block: nothing can read a reused buffer
    gatherer.push(b"b" * 100 + b"\n")  # grows the buffer in place of the old one
    assert take_all(gatherer) == b"b" * 100 + b"\n"
