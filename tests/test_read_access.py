"""Tests of the store's read permissions (``user=`` of the reading methods): signed-in
users and the server operator read everything; anonymous readers (``None``) read the
current station lists and version numbers / dates / counts only."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from geo.errors import (
    InvalidParameterError,
    PermissionDeniedError,
    ReadPermissionError,
    UnknownUserError,
)
from geo.stations.accounts import PROVINCE
from geo.stations.store import (
    ANONYMOUS_TEXT,
    OPERATOR,
    NewVersion,
    StationStore,
    export_version,
    layer_table,
)

PASSWORD = "Lychee-harbour-42"


def new_version(ids: list[str], note: str) -> NewVersion:
    n = len(ids)
    frame = pd.DataFrame({
        "station_id": ids, "name": [f"驿站{i}" for i in range(n)], "type": ["工会驿站"] * n,
        "lon": [114.05 + i * 1e-3 for i in range(n)], "lat": [22.54] * n,
        "extra": [{"联系人": "张三", "电话": "13800000000"}] * n,
    })
    return NewVersion(city="深圳市", source_name="张三的名单.csv", raw=b"secret,bytes\n",
                      declared_crs="wgs84", stations=frame, rows_in=n + 1, rejected=1,
                      report={"rejected_rows": [{"row": 9, "reason": "13800000000"}]},
                      note=note)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> StationStore:
    store = StationStore(tmp_path_factory.mktemp("access") / "yizhan.sqlite")
    store.add_user("sz_editor", password=PASSWORD, city="深圳市", role="editor")
    store.add_user("reviewer", password=PASSWORD, city=PROVINCE, role="reviewer")
    store.create_version(new_version(["a1", "a2"], "first upload by 张三"), user="sz_editor")
    store.create_version(new_version(["a1", "a2", "a3"], "second"), user="sz_editor")
    return store


def test_operator_default_and_signed_in_users_read_everything(store: StationStore) -> None:
    for user in (OPERATOR, "reviewer", "sz_editor"):
        kw = {} if user is OPERATOR else {"user": user}
        hist = store.history("深圳市", **kw)  # type: ignore[arg-type]
        assert [h.created_by for h in hist] == ["sz_editor", "sz_editor"]
        assert hist[0].source_name == "张三的名单.csv" and hist[0].note == "first upload by 张三"
        assert store.current("深圳市", **kw) == hist[-1]  # type: ignore[arg-type]
        assert store.raw("深圳市", version=1, **kw)[1] == b"secret,bytes\n"  # type: ignore[arg-type]
        assert store.report("深圳市", version=1, **kw)["rejected_rows"]  # type: ignore[arg-type]
        old = store.stations("深圳市", version=1, **kw)  # type: ignore[arg-type]
        assert old["extra"].iloc[0] == {"联系人": "张三", "电话": "13800000000"}
        assert [u.name for u in store.users(**kw)] == ["reviewer", "sz_editor"]  # type: ignore[arg-type]
        assert store.get_user("reviewer", **kw).role == "reviewer"  # type: ignore[arg-type]


def test_anonymous_reads_current_lists_and_counts_only(store: StationStore) -> None:
    assert store.cities(user=None) == ["深圳市"]
    hist = store.history("深圳市", user=None)
    assert [(h.version, h.accepted, h.rejected, h.rows_in) for h in hist] == [(1, 2, 1, 3),
                                                                              (2, 3, 1, 4)]
    assert all(h.created_at.endswith("Z") for h in hist)
    assert {h.created_by for h in hist} == {h.source_name for h in hist} == {ANONYMOUS_TEXT}
    assert {h.note for h in hist} == {""}
    assert "sz_editor" not in "".join(h.line() for h in hist)
    assert store.current("深圳市", user=None) == hist[-1]
    assert store.version_info("深圳市", user=None) == hist[-1]

    current = store.stations("深圳市", user=None)
    assert current["station_id"].tolist() == ["a1", "a2", "a3"]
    assert current["extra"].tolist() == [{}, {}, {}]  # the original columns stay private
    assert store.stations("深圳市", version=2, user=None)["station_id"].tolist() == [
        "a1", "a2", "a3"]
    table, info = layer_table(store, "深圳市", user=None)
    assert len(table.accepted) == 3 and info.created_by == ANONYMOUS_TEXT

    for call in (lambda: store.stations("深圳市", version=1, user=None),
                 lambda: store.raw("深圳市", version=2, user=None),
                 lambda: store.report("深圳市", version=2, user=None),
                 lambda: store.users(user=None),
                 lambda: store.get_user("sz_editor", user=None),
                 lambda: layer_table(store, "深圳市", version=1, user=None)):
        with pytest.raises(ReadPermissionError, match="sign in"):
            call()
    assert issubclass(ReadPermissionError, PermissionDeniedError)
    with pytest.raises(ReadPermissionError) as denied:
        store.raw("深圳市", version=2, user=None)
    assert denied.value.message("zh") == "登录后才能查看原始上传文件"


def test_anonymous_export_of_the_current_list(store: StationStore, tmp_path: Path) -> None:
    p = export_version(store, "深圳市", version=None, out=tmp_path / "s.csv", user=None)
    table = pd.read_csv(p, dtype=str, encoding="utf-8-sig")
    assert table["station_id"].tolist() == ["a1", "a2", "a3"]
    assert [json.loads(x) for x in table["extra"]] == [{}, {}, {}]
    assert "13800000000" not in p.read_text(encoding="utf-8-sig")
    with pytest.raises(ReadPermissionError):
        export_version(store, "深圳市", version=1, out=tmp_path / "old.csv", user=None)


def test_reader_must_be_a_known_name(store: StationStore) -> None:
    with pytest.raises(UnknownUserError):
        store.history("深圳市", user="ghost")
    with pytest.raises(UnknownUserError):
        store.stations("深圳市", user="ghost")
    with pytest.raises(InvalidParameterError):
        store.cities(user=42)  # type: ignore[arg-type]
    assert repr(OPERATOR) == "OPERATOR"
