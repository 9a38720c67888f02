"""Issue 22: run like a service. `liqbot backup FILE` copies the live database while it is
written (the copy opens and passes PRAGMA integrity_check); `liqbot --version` agrees with
pyproject.toml."""

from __future__ import annotations

import sqlite3
import threading
import tomllib
from pathlib import Path

import pytest

from bot import cli
from bot.version import __version__
from storage import open_db, outbox, users

ROOT = Path(__file__).resolve().parents[1]


def test_backup_while_the_bot_writes_gives_a_sound_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    live = tmp_path / "live.db"
    db = open_db(live)
    users.register(db, 1, 1, "T", 0)
    stop = threading.Event()
    written = [0]

    def write() -> None:  # the bot's outbox, written as fast as it goes, on its own connection
        w = open_db(live)
        while not stop.is_set():
            with w.atomic():
                for _ in range(50):
                    written[0] += 1
                    outbox.enqueue(w, f"k{written[0]}", 1, "alert", "x" * 200, written[0])
        w.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while written[0] < 2_000:  # the copy starts with the writes well under way
            stop.wait(0.01)
        monkeypatch.setenv("LIQBOT_DB_PATH", str(live))
        copy = tmp_path / "backups" / "copy.db"
        copy.parent.mkdir()
        assert cli.main(["backup", str(copy)]) == 0
        during = written[0]
    finally:
        stop.set()
        writer.join(10)
    assert written[0] > during or during > 2_000  # the bot kept writing
    assert "integrity ok" in capsys.readouterr().out
    c = sqlite3.connect(copy)
    assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file to keep
    rows = c.execute("select count(*) from outbox").fetchone()[0]
    assert 2_000 <= rows <= during and rows % 50 == 0  # a snapshot between transactions
    assert not list(copy.parent.glob("*.partial"))
    # the copy is the bot's database: it opens with the schema current
    assert outbox.counts(open_db(copy))["pending"] == rows
    # refused: the live file itself, a missing database
    assert cli.main(["backup", str(live)]) == 2
    monkeypatch.setenv("LIQBOT_DB_PATH", str(tmp_path / "none.db"))
    assert cli.main(["backup", str(tmp_path / "x.db")]) == 2
    assert "no database" in capsys.readouterr().err


def test_version_is_the_packages(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"liqbot {__version__}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == __version__
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
