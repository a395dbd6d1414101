"""AppTest of pages/province.py on a real ``yizhan batch --regions`` output."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.batch.run import run_batch_regions
from geo.network.model import save_network
from geo.params import CoverageParams
from tests import batchhelp
from tests.apphelp import run_app

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def batch_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("province")
    regions = tmp / "regions"
    net = batchhelp.grid_network()
    for name in ("广州市", "<i>深圳市"):
        save_network(net, regions / name / "network")
        batchhelp.stations_csv(regions / name / "stations.csv")
    run_batch_regions(regions_dir=regions, out_dir=tmp / "batch" / "night1", workers=1,
                      params=CoverageParams(walk_time_min=6.0, max_snap_m=60.0))
    return regions, tmp / "batch"


def test_province_page_lists_cities_and_opens_one(batch_env: tuple[Path, Path],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    regions, batch = batch_env
    monkeypatch.setenv("YIZHAN_REGIONS_DIR", str(regions))
    monkeypatch.setenv("YIZHAN_BATCH_DIR", str(batch))
    at = run_app(page="pages/province.py")
    assert at.title[0].value in ("省级汇总", "Province")
    frame = at.dataframe[0].value
    assert sorted(frame.iloc[:, 0]) == sorted(["广州市", "<i>深圳市"])
    assert at.selectbox(key="batch_city").options
    at.selectbox(key="batch_city").set_value("广州市").run()
    assert not at.exception
    assert at.button(key="open_city")
    at.button(key="open_city").click().run()
    assert not at.exception


def test_province_page_without_batch_output(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIZHAN_BATCH_DIR", str(tmp_path / "none"))
    at = run_app(page="pages/province.py")
    assert at.info


def test_a_folder_prepared_for_the_ebike_opens_in_ebike_mode(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an e-bike batch's partition folders hold e-bike streets only: the app opens such a
    # folder in the session's travel mode (walking says what to do, no crash)
    folder = tmp_path / "regions" / "骑行城"
    save_network(batchhelp.grid_network(mode="ebike"), folder / "network")
    batchhelp.stations_csv(folder / "stations.csv")
    monkeypatch.setenv("YIZHAN_REGIONS_DIR", str(tmp_path / "regions"))
    monkeypatch.setenv("YIZHAN_DEFAULT_REGION", "骑行城")
    at = run_app()
    assert not at.exception
    assert at.error  # on foot: the folder has no streets prepared for walking
    at.radio(key="mode").set_value("ebike").run()
    assert not at.exception and not at.error
    assert any(m.label.startswith("骑行覆盖街道") for m in at.metric)
