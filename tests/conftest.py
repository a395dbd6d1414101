"""Shared test setup.

* **Real data**: :func:`shared_data` / the ``futian_graphml`` fixture find
  ``../shared/data`` (or ``$YIZHAN_SHARED_DATA``) and *skip with the reason* when it is
  absent (a user's fresh clone) — never pass vacuously.
* **No network**: every test runs with outgoing connections refused except to the
  loopback addresses (the browser tests' local Streamlit server, a test's own
  listener). A test that needs to see connection attempts patches on top of this.
* AppTest helpers live in :mod:`tests.apphelp`.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA_ENV = "YIZHAN_SHARED_DATA"


def shared_data_dir() -> Path:
    """``$YIZHAN_SHARED_DATA`` or ``../shared/data`` beside the repository."""
    return Path(os.environ.get(SHARED_DATA_ENV) or ROOT.parent / "shared" / "data")


def shared_data(relative: str) -> Path:
    """A file of the shared real data, or skip the test saying which file is absent."""
    path = shared_data_dir() / relative
    if not path.is_file():
        pytest.skip(f"real-data file {path} is absent (../shared/data not mounted; "
                    f"set ${SHARED_DATA_ENV} to its folder)")
    return path


@pytest.fixture
def futian_graphml() -> Path:
    """The real OSMnx GraphML of Shenzhen Futian (skips when absent)."""
    return shared_data("osm/shenzhen_futian_2023.graphml")


class NetworkBlockedError(OSError):
    """A test tried to reach a non-loopback address."""


def _is_loopback(host: Any) -> bool:
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def _target(address: Any) -> Any:
        return address[0] if isinstance(address, tuple) else address

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(
                _target(address)):
            raise NetworkBlockedError(f"tests may not reach the network: {address!r}")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(
                _target(address)):
            raise NetworkBlockedError(f"tests may not reach the network: {address!r}")
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host):
            raise NetworkBlockedError(f"tests may not resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A Dask LocalCluster of 2 worker processes on 127.0.0.1 (for the batch tests)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c
