"""``open_atomic`` and ``plan_output``: only a regular file is replaced, with its mode kept;
new files (job files too) are created with the mode asked, 0600 by default."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from exporter.errors import Rejected
from exporter.files.atomic import open_atomic, plan_output


async def test_a_new_file_is_private_by_default(tmp_path: Path) -> None:
    async with open_atomic(tmp_path / "a.csv") as file:
        await file.write(b"x\n")
    assert stat.S_IMODE(os.stat(tmp_path / "a.csv").st_mode) == 0o600


async def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "a.csv"
    target.write_text("old")
    target.chmod(0o604)
    async with open_atomic(target, mode=0o600) as file:
        await file.write(b"new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o604


async def test_never_replaces_what_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(Rejected):
        async with open_atomic(fifo) as file:
            await file.write(b"x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_plans(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "link").symlink_to(tmp_path / "f")
    (tmp_path / "dangling").symlink_to(tmp_path / "later")
    assert plan_output(tmp_path / "f").direct is False
    assert plan_output(tmp_path / "new").direct is False
    assert plan_output(tmp_path / "pipe").direct is True
    assert plan_output(tmp_path / "link").path == tmp_path / "f"
    assert plan_output(tmp_path / "dangling").path == tmp_path / "later"
    for bad in (tmp_path, tmp_path / "missing" / "f", tmp_path / "f" / "below"):
        with pytest.raises(Rejected):
            plan_output(bad)
