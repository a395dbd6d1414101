"""Re-importing a list identical to the city's current version makes no new version."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from geo.errors import NoChangeError, PermissionDeniedError, StoreError
from geo.stations.store import NewVersion, StationStore

PASSWORD = "Lychee-harbour-42"
CITY = "深圳市"


def new_version(ids: tuple[str, ...] = ("a1", "a2", "a3"), *, raw: bytes | None = None,
                crs: str = "wgs84", name: str = "stations.csv", note: str = "",
                lon0: float = 114.05) -> NewVersion:
    n = len(ids)
    frame = pd.DataFrame({
        "station_id": list(ids), "name": [f"福田区工会驿站{i}" for i in range(n)],
        "type": ["工会驿站"] * n, "address": [f"深南大道{i}号" for i in range(n)],
        "city": [CITY] * n, "district": ["福田区"] * n,
        "lon": [lon0 + i * 1e-3 for i in range(n)], "lat": [22.54 + i * 1e-3 for i in range(n)],
        "source_row": list(range(2, n + 2)),
        "extra": [{"编号": sid} for sid in ids],
    })
    raw = ("station_id\n" + "\n".join(ids)).encode() if raw is None else raw
    return NewVersion(city=CITY, source_name=name, raw=raw, declared_crs=crs,
                      stations=frame, rows_in=n, rejected=0, note=note)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("nochange") / "template.sqlite"
    store = StationStore(path)
    store.add_user("sz_editor", password=PASSWORD, city=CITY, role="editor")
    store.add_user("gz_editor", password=PASSWORD, city="广州市", role="editor")
    return path


@pytest.fixture()
def store(template: Path, tmp_path: Path) -> StationStore:
    StationStore(template, create=False).backup(tmp_path / "s.sqlite")
    return StationStore(tmp_path / "s.sqlite", create=False)


def test_identical_reimport_makes_no_version(store: StationStore) -> None:
    first = store.create_version(new_version(), user="sz_editor", only_if_changed=True)
    assert first.version == 1
    with pytest.raises(NoChangeError) as caught:
        store.create_version(new_version(name="renamed.csv", note="again"), user="sz_editor",
                             only_if_changed=True)
    err = caught.value
    assert (err.city, err.version) == (CITY, 1)
    assert isinstance(err, StoreError)
    assert "unchanged: identical to v1, no new version" in str(err)
    assert "未变化" in err.message("zh")
    assert [h.version for h in store.history(CITY)] == [1]
    assert store.integrity_check() == "ok"


@pytest.mark.parametrize("change", [
    {"ids": ("a1", "a2")},                       # a station removed
    {"lon0": 114.06},                            # moved
    {"raw": b"station_id\na1\na2\na3\n"},        # other bytes, same rows
    {"crs": "gcj02"},                            # other declared coordinate system
])
def test_any_change_is_a_new_version(store: StationStore, change: dict[str, object]) -> None:
    store.create_version(new_version(), user="sz_editor", only_if_changed=True)
    info = store.create_version(new_version(**change),  # type: ignore[arg-type]
                                user="sz_editor", only_if_changed=True)
    assert info.version == 2


def test_compared_with_the_current_version_only(store: StationStore) -> None:
    store.create_version(new_version(), user="sz_editor")
    store.create_version(new_version(("b1",)), user="sz_editor")
    # identical to v1 but not to the current v2: a new version
    assert store.create_version(new_version(), user="sz_editor",
                                only_if_changed=True).version == 3
    # after a rollback to v2 the current list is v2's
    store.rollback(CITY, to_version=2, user="sz_editor")
    with pytest.raises(NoChangeError, match="identical to v4"):
        store.create_version(new_version(("b1",)), user="sz_editor", only_if_changed=True)


def test_without_the_flag_versions_are_still_made(store: StationStore) -> None:
    store.create_version(new_version(), user="sz_editor")
    assert store.create_version(new_version(), user="sz_editor").version == 2


def test_permission_is_checked_before_the_comparison(store: StationStore) -> None:
    store.create_version(new_version(), user="sz_editor")
    with pytest.raises(PermissionDeniedError):
        store.create_version(new_version(), user="gz_editor", only_if_changed=True)


def test_changed_row_order_counts_as_a_change(store: StationStore) -> None:
    v = new_version()
    store.create_version(v, user="sz_editor")
    flipped = dataclasses.replace(v, stations=v.stations.iloc[::-1].reset_index(drop=True))
    assert store.create_version(flipped, user="sz_editor", only_if_changed=True).version == 2


def test_cli_import_of_the_same_file_says_unchanged(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import sys

    from geo.cli import commands as cli

    db = tmp_path / "stations.db"
    StationStore(db).add_user("sz_editor", password=PASSWORD, city=CITY, role="editor")
    src = tmp_path / "深圳.csv"
    src.write_text("编号,名称,类型,经度,纬度\n1,福田驿站,工会驿站,114.05,22.54\n"
                   "2,南山驿站,工会驿站,113.93,22.53\n", encoding="utf-8")
    argv = ["stations", "import", str(src), "--city", CITY, "--crs", "wgs84", "--db", str(db),
            "--user", "sz_editor"]
    for expected in ("stored 深圳市 v1", "unchanged: identical to v1, no new version"):
        monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
        assert cli.main(argv) == 0
        assert expected in capsys.readouterr().out
    assert [h.version for h in StationStore(db).history(CITY)] == [1]
