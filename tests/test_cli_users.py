"""``yizhan users unlock``: an operator lifts a sign-in lockout (per account or client)."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.cli import commands as cli
from geo.errors import AuthenticationError, SignInLockedError
from geo.stations.accounts import PROVINCE
from geo.stations.store import StationStore

PASSWORD = "Lychee-harbour-42"


def _locked_store(tmp_path: Path) -> StationStore:
    store = StationStore(tmp_path / "s.db")
    store.add_user("sz_editor", password=PASSWORD, city="深圳市", role="editor")
    store.add_user("admin", password=PASSWORD, city=PROVINCE, role="admin")
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            store.authenticate("sz_editor", "Wrong-password-99", client="ip:10.1.1.1")
    with pytest.raises(SignInLockedError):
        store.authenticate("sz_editor", PASSWORD)
    return store


def test_unlock_an_account(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = _locked_store(tmp_path)
    assert cli.main(["users", "unlock", "sz_editor", "--db", str(store.path)]) == 0
    assert "lockout lifted" in capsys.readouterr().out
    assert store.authenticate("sz_editor", PASSWORD).name == "sz_editor"
    assert cli.main(["users", "unlock", "sz_editor", "--db", str(store.path)]) == 0
    assert "was not locked" in capsys.readouterr().out


def test_unlock_needs_exactly_one_target(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    store = _locked_store(tmp_path)
    assert cli.main(["users", "unlock", "--db", str(store.path)]) == 4
    assert "one of them" in capsys.readouterr().err
    assert cli.main(["users", "unlock", "sz_editor", "--client", "ip:1.2.3.4",
                     "--db", str(store.path)]) == 4


def test_unlock_a_client(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = _locked_store(tmp_path)
    code = cli.main(["users", "unlock", "--client", "ip:10.1.1.1", "--db", str(store.path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "client ip:10.1.1.1" in out
