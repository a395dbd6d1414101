"""The real browser view: headless Debian Chromium driven by Playwright.

The app is started on a region whose station, zone and town names are hostile, every
request that does not go to localhost is blocked, and the page must show a Leaflet map
with markers and polygons, run no injected script and log no console error. A
screenshot is kept in ``artifacts/``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "artifacts"
HOSTILE = [
    '<img src=x onerror="window.__pwned=1;window.parent.__pwned=1">',
    "${window.__pwned=2}",
    "`${window.parent.__pwned=3}`",
    '"><script>window.__pwned=4</script>',
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and os.environ.get("CI") != "true",
    reason="Debian chromium is not installed (apt-get install chromium); CI installs it",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _hostile_region(root: Path) -> Path:
    import geopandas as gpd

    from geo.pipeline.demo import write_demo_inputs

    folder = root / "hostile"
    write_demo_inputs(folder)
    st = pd.read_csv(folder / "stations.csv", dtype=str, keep_default_na=False)
    for i, name in enumerate(HOSTILE):
        st.loc[i, "name"] = name
        st.loc[i, "address"] = name
    st.to_csv(folder / "stations.csv", index=False)
    for layer in ("zones", "towns"):
        g = gpd.read_file(folder / f"{layer}.geojson")
        g.loc[0, "name"] = HOSTILE[0]
        g.loc[1 % len(g), "name"] = HOSTILE[1]
        g.to_file(folder / f"{layer}.geojson", driver="GeoJSON")
    return folder


def _start_server(env_extra: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, **env_extra}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.port", str(port), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("streamlit did not start: " + proc.stdout.read().decode()[-2000:])
    return proc, url


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("regions")
    _hostile_region(root)
    proc, url = _start_server({"YIZHAN_REGIONS_DIR": str(root),
                               "YIZHAN_DEFAULT_REGION": "hostile",
                               "XDG_CACHE_HOME": str(root / "cache")})
    yield url
    _stop(proc)


def test_first_request_to_a_subpage_uses_the_app_navigation(tmp_path: Path) -> None:
    """A bookmark such as /towns as the very first request of a fresh server must not
    leave Streamlit in its pages-folder mode (file names as menu, app.py as a page)."""
    from playwright.sync_api import sync_playwright

    proc, url = _start_server({"XDG_CACHE_HOME": str(tmp_path / "cache")})
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM,
                                        args=["--no-sandbox", "--disable-gpu",
                                              "--disable-background-networking"])
            menus = []
            for _ in range(2):  # the first visitor, then the next one
                page = browser.new_page()
                page.goto(url + "/towns", wait_until="domcontentloaded")
                page.wait_for_selector("h1", timeout=90_000)
                page.wait_for_timeout(2000)
                menus.append(page.evaluate(
                    "() => Array.from(document.querySelectorAll("
                    "'[data-testid=stSidebarNavLink]')).map(a => a.textContent)"))
                title = page.evaluate("() => document.querySelector('h1').textContent")
                page.close()
                assert "薄弱镇街" in title
            browser.close()
    finally:
        _stop(proc)
    for menu in menus:
        assert "地图 Map" in menu and "app" not in menu, menu


def _open_map(page: Any, url: str) -> tuple[Any, Any]:
    """Open the app at ``url`` and wait for the folium iframe's Leaflet map; returns the
    iframe element and its frame."""
    page.goto(url, wait_until="domcontentloaded")
    frame_el = page.wait_for_selector("iframe[title*='st_folium'], iframe[src*='folium']",
                                      timeout=120_000)
    frame = frame_el.content_frame()
    assert frame is not None
    frame.wait_for_selector(".leaflet-container", timeout=60_000)
    frame.wait_for_function("() => window.L !== undefined", timeout=30_000)
    return frame_el, frame


LAYER_COUNTS_JS = """
() => {
  const maps = [...new Set(Object.values(window).filter(v => v && v instanceof window.L.Map))];
  if (!maps.length) return null;
  const out = {maps: maps.length, polygons: 0, circles: 0, clusters: 0, markers: 0};
  maps[0].eachLayer(l => {
    if (l instanceof L.Polygon) out.polygons++;
    else if (l instanceof L.CircleMarker) out.circles++;
    else if (L.MarkerClusterGroup && l instanceof L.MarkerClusterGroup) out.clusters++;
    else if (l instanceof L.Marker) out.markers++;
  });
  return out;
}
"""

OPEN_POPUPS_JS = """
() => {
  // open every station popup on the map itself (clustered markers are not in the DOM)
  // and hover every GeoJSON feature so its tooltip is rendered
  const map = Object.values(window).filter(v => v && v instanceof window.L.Map)[0];
  let opened = 0;
  const clusters = [];
  map.eachLayer(l => {
    if (L.MarkerClusterGroup && l instanceof L.MarkerClusterGroup) clusters.push(l);
  });
  clusters.forEach(c => c.getLayers().forEach(m => {
    const p = m.getPopup();
    if (p) {
      L.popup({autoClose: false, closeOnClick: false}).setLatLng(m.getLatLng())
        .setContent(p.getContent()).openOn(map);
      opened++;
    }
    const t = m.getTooltip();
    if (t) { L.tooltip({permanent: true}).setLatLng(m.getLatLng())
        .setContent(t.getContent()).addTo(map); }
  }));
  map.eachLayer(l => {
    if (l.feature && l.getBounds) {
      try { l.fire("mouseover", {latlng: l.getBounds().getCenter()}, true); } catch (e) {}
    }
  });
  return opened;
}
"""


def test_map_renders_offline_and_hostile_names_stay_text(server: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    blocked: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})

        def route(r):
            url = r.request.url
            if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:",
                               "about:")):
                return r.continue_()
            blocked.append(url)
            return r.abort()

        page.route("**/*", route)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        _, frame = _open_map(page, server)
        page.wait_for_timeout(2500)
        counts = frame.evaluate(LAYER_COUNTS_JS)
        page.screenshot(path=str(ARTIFACTS / "browser_map.png"), full_page=False)
        opened = frame.evaluate(OPEN_POPUPS_JS)
        page.wait_for_timeout(1500)
        popup_text = frame.evaluate(
            "() => Array.from(document.querySelectorAll('.leaflet-popup-content'))"
            ".map(e => e.textContent).join('\\n')")
        pwned_frame = frame.evaluate("() => window.__pwned === undefined ? null : window.__pwned")
        pwned_page = page.evaluate("() => window.__pwned === undefined ? null : window.__pwned")
        page.screenshot(path=str(ARTIFACTS / "browser_map_popups.png"), full_page=False)
        browser.close()
    (ARTIFACTS / "browser_map.json").write_text(json.dumps(
        {"counts": counts, "opened": opened, "errors": errors, "blocked": blocked},
        ensure_ascii=False, indent=1), encoding="utf-8")
    assert counts is not None and counts["maps"] == 1
    assert counts["polygons"] > 0, counts
    assert counts["clusters"] >= 1 and opened > 0, counts
    assert pwned_frame is None and pwned_page is None
    # the hostile names are shown as text
    assert "onerror" in popup_text and "${window.__pwned=2}" in popup_text
    assert not errors, errors
    # with the default "no basemap" setting nothing outside localhost is requested
    assert not blocked, blocked


def test_chromium_available_in_ci() -> None:
    if os.environ.get("CI") == "true":
        assert shutil.which("chromium") or Path(CHROMIUM).exists()


def test_16000_station_standalone_map_inflates_and_escapes(tmp_path: Path) -> None:
    """The gzip path for large station lists, in a standalone (inlined) HTML file."""
    from playwright.sync_api import sync_playwright

    from geo.webmap.maps import build_map
    from geo.webmap.offline import standalone_html
    from tests.test_ui_maps import _hostile_data

    html = standalone_html(build_map(_hostile_data(16_000), layers=frozenset({"stations"})))
    page_file = tmp_path / "big.html"
    page_file.write_text(html, encoding="utf-8")
    errors: list[str] = []
    blocked: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu",
                                          "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})

        def route(r):
            if r.request.url.startswith(("file:", "data:", "blob:")):
                return r.continue_()
            blocked.append(r.request.url)
            return r.abort()

        page.route("**/*", route)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_file.as_uri())
        page.wait_for_selector(".marker-cluster", timeout=60_000)
        n_markers = page.evaluate("""() => {
            const map = Object.values(window).filter(v => v && v instanceof L.Map)[0];
            let n = 0, first = null;
            map.eachLayer(l => { if (l instanceof L.MarkerClusterGroup) {
                n += l.getLayers().length; first = first || l.getLayers()[0]; } });
            L.popup().setLatLng(first.getLatLng()).setContent(first.getPopup().getContent())
                .openOn(map);
            return n; }""")
        page.wait_for_timeout(800)
        text = page.evaluate("() => document.querySelector('.leaflet-popup-content').textContent")
        pwned = page.evaluate("() => window.__pwned === undefined ? null : window.__pwned")
        browser.close()
    assert n_markers == 16_000
    assert "onerror" in text and "${window.__pwned=2}" in text
    assert pwned is None
    assert not errors, errors
    assert not blocked, blocked


def test_station_upload_in_the_browser_gbk_gcj02_hostile(tmp_path: Path) -> None:
    """站点 page in Chromium: a GBK CSV in GCJ-02 with hostile names is uploaded through
    the real file input, the coordinate system is declared, the validation appears, and
    no injected script runs (names are table data, the comparison map escapes them)."""
    from playwright.sync_api import sync_playwright

    from geo.pipeline.demo import build_demo_region
    from geo.stations.coords import from_wgs84
    from geo.stations.store import StationStore

    store = StationStore(tmp_path / "st.db")
    store.add_user("sz_editor", password="Correct-Horse-42", city="深圳市", role="editor")
    st = build_demo_region().stations.head(6)
    glon, glat = from_wgs84(st.geometry.x.to_numpy(), st.geometry.y.to_numpy(), "gcj02")
    names = [*HOSTILE, "南山区粤海街道工会驿站", "龍華區驿站"][: len(st)]
    rows = ["编号,站点名称,类型,经度,纬度"] + [
        f'{sid},"{n.replace(chr(34), chr(34) * 2)}",工会驿站,{x:.7f},{y:.7f}'
        for sid, n, x, y in zip(st["station_id"], names, glon, glat, strict=True)]
    upload = tmp_path / "深圳驿站.csv"
    upload.write_bytes(("\n".join(rows) + "\n0099,填反了,工会驿站,22.5,114.0\n")
                       .encode("gb18030"))
    proc, url = _start_server({"YIZHAN_DB": str(store.path),
                               "XDG_CACHE_HOME": str(tmp_path / "cache")})
    errors: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM,
                                        args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(
                ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:"))
                else r.abort())
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url + "/stations", wait_until="domcontentloaded")
            page.wait_for_selector("input[type=file]", state="attached", timeout=120_000)
            page.set_input_files("input[type=file]", str(upload))
            page.get_by_text("GCJ-02（高德 / 腾讯）").click(timeout=60_000)
            page.get_by_text("读入行数").wait_for(timeout=120_000)
            page.wait_for_timeout(2000)
            body = page.inner_text("body")
            frame_el = page.wait_for_selector("iframe[title*='st_folium'], "
                                              "iframe[src*='folium']", timeout=120_000)
            frame = frame_el.content_frame()
            assert frame is not None
            frame.wait_for_selector(".leaflet-container", timeout=60_000)
            page.wait_for_timeout(1500)
            pwned = [page.evaluate("() => window.__pwned ?? null"),
                     frame.evaluate("() => window.__pwned ?? null")]
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "browser_stations.png"), full_page=True)
            browser.close()
    finally:
        _stop(proc)
    assert pwned == [None, None]
    assert "读入行数" in body and "登录" in body
    # 7 rows in: 6 accepted, the swapped one rejected (its reason is in the data grid)
    flat = " ".join(body.split())
    assert "读入行数 7 接受 6 拒绝 1" in flat, flat[:2000]
    assert "GBK" in flat and "以下行被拒绝" in flat
    assert not errors, errors


def test_clicking_inside_a_town_shows_its_figures(server: str, tmp_path: Path) -> None:
    """Click inside a town (under the service-area layer): the panel beside the map
    shows that town's name, figures and rank reason; the tooltip names the town."""
    from playwright.sync_api import sync_playwright

    from geo.pipeline.region import demo_region

    demo_towns = demo_region().towns
    assert demo_towns is not None
    target = demo_towns.accepted.to_crs(4326).iloc[2]  # the hostile region = the demo's
    pt = target.geometry.representative_point()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu",
                                          "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(
            ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")) else r.abort())
        frame_el, frame = _open_map(page, server)
        page.wait_for_timeout(2000)
        frame_el.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        xy = frame.evaluate("""([lat, lon]) => {
            const map = Object.values(window).filter(v => v && v instanceof L.Map)[0];
            const p = map.latLngToContainerPoint([lat, lon]);
            const r = map.getContainer().getBoundingClientRect();
            return [p.x + r.left, p.y + r.top]; }""", [pt.y, pt.x])
        box = frame_el.bounding_box()
        assert box is not None
        x, y = box["x"] + xy[0], box["y"] + xy[1]
        page.mouse.move(x, y)
        page.wait_for_timeout(800)
        tooltip = frame.evaluate(
            "() => Array.from(document.querySelectorAll('.leaflet-tooltip'))"
            ".map(e => e.textContent).join('\\n')")
        page.mouse.click(x, y)
        page.wait_for_function(
            "(name) => Array.from(document.querySelectorAll('h3'))"
            ".some(h => h.textContent.includes(name)) && Array.from(document.querySelectorAll("
            "'[data-testid=stMetricLabel]')).some(m => m.textContent.includes('薄弱排名'))",
            arg=str(target["name"]), timeout=60_000)
        page.wait_for_timeout(1500)
        panel = page.evaluate("() => document.body.innerText")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser_town_click.png"), full_page=False)
        browser.close()
    assert "镇街" in tooltip and str(target["name"]) in tooltip, tooltip
    assert "薄弱排名" in panel and "街道覆盖率" in panel
