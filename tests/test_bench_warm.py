"""bench.desks.warm: a desk is read into the OS cache before it is measured,
and the bench says how much it read (a desk that cannot be warmed says why,
and the bench goes on)."""

from __future__ import annotations

from pathlib import Path

from bench.desks import warm


def test_warm_reads_the_sqlite_file_and_its_wal_whole(tmp_path: Path) -> None:
    desk = tmp_path / "d.sqlite"
    desk.write_bytes(b"x" * 3_000_000)
    Path(f"{desk}-wal").write_bytes(b"y" * 1_000_000)
    lines: list[str] = []
    warm(f"sqlite:///{desk}", log=lines.append)
    assert len(lines) == 1 and lines[0].startswith("warm: read 0.00 GB of d.sqlite")
    desk.write_bytes(b"x" * 30_000_000)
    warm(f"sqlite:///{desk}", log=lines.append)
    assert lines[1].startswith("warm: read 0.03 GB of d.sqlite")


def test_warm_on_an_unreachable_server_says_so_in_one_line() -> None:
    lines: list[str] = []
    warm("postgresql://nobody@127.0.0.1:9/none", log=lines.append)
    assert len(lines) == 1 and lines[0].startswith("warm: not done (") and "\n" not in lines[0]
