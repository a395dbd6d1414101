"""Run heavy work on untrusted input in a worker process with memory and time limits.

A crafted street network can make a C library crash (a NaN vertex made GEOS segfault in
``shapely.buffer``), hang, or allocate without bound (osmnx's GraphML parser). Run such
work through :func:`run_isolated`: the function runs in a fresh Python process, one per
call, and the caller gets its result — or a named error while the caller stays alive:

* :class:`~geo.errors.WorkerCrashedError` — the worker died (a signal such as SIGSEGV,
  or an exit without a result); ``.signal`` / ``.returncode`` say how;
* :class:`~geo.errors.WorkerTimeoutError` — it did not finish within ``timeout_s``
  seconds of wall-clock time (start-up included) and was killed;
* :class:`~geo.errors.WorkerMemoryError` — it ran out of its ``memory_mb``;
* a :class:`~geo.errors.YizhanError` raised by the function comes back as itself (same
  class and message); any other exception also comes back as itself, with the worker's
  traceback attached as its ``__cause__``.

How
---
The worker is ``python -P -c <bootstrap>`` started with :mod:`subprocess` in its own
session (so the worker and any helper processes it forks are killed together). The call
(function, arguments) and the reply travel as pickles through files in a private
temporary directory that is always removed. ``multiprocessing``'s *spawn* and
*forkserver* would re-run the parent's ``__main__`` script in the child — under Streamlit
that is the app itself — which this bootstrap avoids.

Limits (Linux; set in the worker before the arguments are unpickled):

* ``RLIMIT_AS`` = the worker's address space after start-up (interpreter + the ``geo``
  libraries + the function's module, about 0.6 GB of *virtual* memory) + ``memory_mb``:
  ``memory_mb`` is what the call itself may add, its arguments and result included.
  Helper processes it forks (polygon building) get the same limit each;
* ``RLIMIT_CPU`` = ``timeout_s`` × CPUs + 30 s, a backstop behind the wall-clock limit;
* the worker dies with its parent (``PR_SET_PDEATHSIG``).

This isolates *failures*; it is not a security sandbox: the worker runs as the same user
with the same file access, and the parent trusts the pickles it sends back.

Entry points used by the app: :func:`load_network_isolated`,
:func:`download_network_isolated`, :func:`region_from_files_isolated`,
:func:`run_region_isolated` and :func:`run_coverage_isolated`.
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import logging
import math
import os
import pickle
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO, Final, TypeVar

import numpy as np
import shapely

from geo.errors import (
    InvalidParameterError,
    WorkerCrashedError,
    WorkerError,
    WorkerMemoryError,
    WorkerTimeoutError,
    YizhanError,
)
from geo.io.layers import LayerTable
from geo.network.loaders import download_network, load_network
from geo.network.model import WalkNetwork
from geo.pipeline.job import CoverageJob, run_coverage, run_region
from geo.pipeline.region import Region, region_from_files

_T = TypeVar("_T")
log = logging.getLogger(__name__)

#: Defaults of the entry points (one worker: a city-size network loads in seconds).
DEFAULT_TIMEOUT_S: Final = 900.0
DEFAULT_MEMORY_MB: Final = 8192

#: Bytes of the worker's stderr kept for the log and for error messages.
_STDERR_TAIL: Final = 16_384

_BOOTSTRAP: Final = (
    "import pickle, sys\n"
    "f = open(sys.argv[1], 'rb')\n"
    "h = pickle.load(f)\n"
    "sys.path[:] = h['sys_path']\n"
    "from geo.pipeline.isolate import _child_main\n"
    "_child_main(h, f, sys.argv[2])\n"
)

_CRASH_SIGNALS: Final = frozenset({signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT,
                                   signal.SIGILL, signal.SIGFPE})


class _RemoteTraceback(Exception):
    """The worker's traceback, attached as ``__cause__`` of a re-raised exception."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return f"\n(in the worker process)\n{self.tb}"


# ------------------------------------------------------------------------------ parent


def run_isolated(fn: Callable[..., _T], /, *args: Any, timeout_s: float, memory_mb: int,
                 **kwargs: Any) -> _T:
    """``fn(*args, **kwargs)`` in a fresh worker process; its result, or a named error.

    ``fn`` must be a picklable top-level function and the arguments and result picklable.
    ``timeout_s``: wall-clock limit of the whole call (worker start-up, about a second,
    included). ``memory_mb``: memory the call may use on top of the worker's start-up
    footprint (see the module docstring). Raises :class:`~geo.errors.WorkerCrashedError`,
    :class:`~geo.errors.WorkerTimeoutError`, :class:`~geo.errors.WorkerMemoryError`, or
    the function's own exception.
    """
    if not (isinstance(timeout_s, (int, float)) and math.isfinite(timeout_s) and timeout_s > 0):
        raise InvalidParameterError(f"timeout_s must be a positive number of seconds, "
                                    f"got {timeout_s!r}")
    if not (isinstance(memory_mb, int) and not isinstance(memory_mb, bool) and memory_mb > 0):
        raise InvalidParameterError(f"memory_mb must be a positive whole number of MB, "
                                    f"got {memory_mb!r}")
    what = getattr(fn, "__qualname__", repr(fn))
    header = {"sys_path": list(sys.path), "memory_mb": int(memory_mb),
              "cpu_s": int(timeout_s * (os.cpu_count() or 1)) + 30, "parent_pid": os.getpid()}
    with tempfile.TemporaryDirectory(prefix="yizhan-worker-") as tmp:
        call, result, err = Path(tmp) / "call.pkl", Path(tmp) / "result.pkl", Path(tmp) / "err"
        try:
            with call.open("wb") as fh:
                pickle.dump(header, fh)
                pickle.dump(fn, fh, protocol=pickle.HIGHEST_PROTOCOL)
                pickle.dump((args, kwargs), fh, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise InvalidParameterError(
                f"run_isolated({what}) needs a top-level function and picklable arguments "
                f"({type(exc).__name__}: {exc}); define the function at module level"
            ) from None
        with err.open("w+b") as err_fh:
            returncode, timed_out = _run_worker(call, result, err_fh, timeout_s)
            tail = _tail(err_fh)
        if tail:
            log.log(logging.INFO if returncode == 0 else logging.WARNING,
                    "worker process for %s wrote to stderr:\n%s", what, tail)
        if timed_out:
            raise WorkerTimeoutError(
                f"the worker process did not finish {what} within {timeout_s:g} s and was "
                "stopped. The input may be too large or malformed: load a smaller area "
                "(clip with a bbox or polygon), check the file, or allow more time",
                zh=f"处理超时（{timeout_s:g} 秒）已停止：输入可能过大或有误。请缩小范围、"
                   "检查文件，或放宽时间限制。")
        reply = _read_reply(result) if returncode == 0 else None
    if reply is None:
        raise _crash_error(what, returncode, tail, memory_mb=memory_mb, timeout_s=timeout_s)
    result_value: _T = _unwrap(reply, what, memory_mb)
    return result_value


def _run_worker(call: Path, result: Path, err_fh: BinaryIO,
                timeout_s: float) -> tuple[int, bool]:
    """Start the worker, wait at most ``timeout_s``; (return code, timed out)."""
    deadline = time.monotonic() + timeout_s
    try:
        proc = subprocess.Popen(
            [sys.executable, "-P", "-c", _BOOTSTRAP, str(call), str(result)],
            stdin=subprocess.DEVNULL, stdout=err_fh, stderr=err_fh, close_fds=True,
            start_new_session=True)
    except OSError as exc:
        raise WorkerError(f"cannot start the worker process ({exc}); check that "
                          f"{sys.executable} can be run") from None
    reaped = False
    try:
        delay = 0.005
        while True:
            # WNOWAIT: the exited worker stays a zombie, so its process group id cannot be
            # reused before its helpers are killed below
            try:
                ended = os.waitid(os.P_PID, proc.pid,
                                  os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
            except ChildProcessError:  # reaped elsewhere (a SIGCHLD handler): it has ended
                ended = True
            if ended:
                _kill_group(proc.pid)  # helpers left behind by a crash
                proc.wait()
                reaped = True
                return proc.returncode, False
            left = deadline - time.monotonic()
            if left <= 0:
                _kill_group(proc.pid)
                proc.wait()
                reaped = True
                return proc.returncode, True
            time.sleep(min(delay, left))
            delay = min(delay * 2, 0.05)
    finally:
        if not reaped:  # interrupted (KeyboardInterrupt…): never leave the worker running
            _kill_group(proc.pid)
            proc.wait()


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _tail(fh: BinaryIO) -> str:
    fh.flush()
    size = fh.seek(0, os.SEEK_END)
    fh.seek(max(0, size - _STDERR_TAIL))
    text = fh.read().decode("utf-8", errors="replace").strip()
    return ("…" + text) if size > _STDERR_TAIL else text


def _read_reply(result: Path) -> tuple[Any, ...] | None:
    try:
        if result.stat().st_size == 0:  # the worker exited before writing its reply
            return None
        with result.open("rb") as fh:
            reply = pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception as exc:
        raise WorkerError(
            f"the worker's reply cannot be read back ({type(exc).__name__}: {exc}); "
            "the result may use a class the main process cannot import") from None
    return reply if isinstance(reply, tuple) and reply else None


def _crash_error(what: str, returncode: int, tail: str, *, memory_mb: int,
                 timeout_s: float) -> WorkerError:
    detail = _stderr_hint(tail)
    if returncode < 0:
        sig = -returncode
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = "unknown signal"
        if sig == signal.SIGXCPU:
            return WorkerTimeoutError(
                f"the worker process used more CPU time than allowed for {what} "
                f"(about {timeout_s:g} s per CPU) and was stopped; load a smaller area",
                zh="处理占用的计算时间超过限制，已停止：请缩小范围后重试。")
        if sig == signal.SIGKILL:
            hint = ("it was killed from outside, often by the system's out-of-memory killer: "
                    f"load a smaller area or lower memory_mb (now {memory_mb} MB) below the "
                    "free memory")
        elif sig in _CRASH_SIGNALS:
            hint = ("a library failed on this input, which is likely malformed: check or "
                    "re-export the file (e.g. from OpenStreetMap) or load a smaller area")
        else:
            hint = "check the input and try again"
        return WorkerCrashedError(
            f"the worker process crashed while running {what} (signal {sig}, {name}); "
            f"{hint}. The application itself is unaffected{detail}",
            signal=sig, returncode=returncode,
            zh=f"后台处理进程崩溃（信号 {sig}，{name}）：输入文件可能有误。请检查或重新导出"
               "文件，或缩小范围；应用本身未受影响。")
    return WorkerCrashedError(
        f"the worker process ended without a result while running {what} (exit code "
        f"{returncode}){detail}; check the input and the installation, then try again",
        returncode=returncode,
        zh=f"后台处理进程意外结束（退出码 {returncode}），没有结果：请检查输入后重试。")


def _stderr_hint(tail: str) -> str:
    """Where a crash happened (faulthandler's innermost frame), else the last line."""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if line.endswith("(most recent call first):") and i + 1 < len(lines):
            return f" (in {lines[i + 1][:200]})"
    last = next((line for line in reversed(lines) if not line.startswith("Extension modules")),
                "")
    return f" (last message: {last[:200]})" if last else ""


def _unwrap(reply: tuple[Any, ...], what: str, memory_mb: int) -> Any:
    kind = reply[0]
    if kind == "ok":
        return reply[1]
    if kind == "error":
        exc, tb = reply[1], reply[2]
        if isinstance(exc, YizhanError):
            raise exc
        exc.__cause__ = _RemoteTraceback(tb)
        raise exc
    if kind == "memory":
        raise WorkerMemoryError(
            f"the worker process ran out of memory while running {what}: it needed more "
            f"than the {memory_mb} MB allowed. Load a smaller area (clip with a bbox or "
            "polygon) or allow more memory if this machine has it",
            zh=f"处理所需内存超过允许的 {memory_mb} MB：请缩小范围（按范围框或多边形裁剪）"
               "后重试。")
    if kind == "crash":
        raise WorkerCrashedError(
            f"a helper process of the worker crashed while running {what} ({reply[1]}); "
            "the input is likely malformed: check or re-export the file, or load a smaller "
            "area",
            zh="后台辅助进程崩溃：输入文件可能有误。请检查或重新导出文件，或缩小范围。")
    error = WorkerError(f"the worker process failed while running {what}: {reply[1]}")
    if len(reply) > 2:
        error.__cause__ = _RemoteTraceback(str(reply[2]))
    raise error


# ------------------------------------------------------------------------------- child


def _child_main(header: dict[str, Any], call: BinaryIO, result_path: str) -> None:
    """Worker side: limits, the call, the reply (never returns)."""
    faulthandler.enable()  # a crash prints the Python stack to stderr, then dies by its signal
    with contextlib.suppress(ValueError, OSError):  # no core files from a crash
        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    _die_with_parent(int(header["parent_pid"]))
    with open(result_path, "wb") as out:
        try:
            fn = pickle.load(call)
            _set_limits(int(header["memory_mb"]), int(header["cpu_s"]))
            args, kwargs = pickle.load(call)
            call.close()
            reply: tuple[Any, ...] = ("ok", fn(*args, **kwargs))
        except MemoryError:
            reply = ("memory",)
        except BrokenProcessPool as exc:
            reply = ("crash", f"{type(exc).__name__}: {exc}")
        except Exception as exc:
            reply = _error_reply(exc)
        try:
            pickle.dump(reply, out, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            _rewrite(out, ("memory",))
        except Exception as exc:
            _rewrite(out, ("failed", f"its result cannot be sent back ({type(exc).__name__}: "
                                     f"{exc}); return picklable data"))
        out.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _error_reply(exc: Exception) -> tuple[Any, ...]:
    if "bad_alloc" in str(exc) or "MemoryError" in type(exc).__name__:
        return ("memory",)
    tb = "".join(traceback.format_exception(exc))
    try:
        exc.__traceback__ = None
        pickle.loads(pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        return ("failed", f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}", tb)
    return ("error", exc, tb)


def _rewrite(out: BinaryIO, reply: tuple[Any, ...]) -> None:
    out.seek(0)
    out.truncate()
    pickle.dump(reply, out)


def _set_limits(memory_mb: int, cpu_s: int) -> None:
    """Address space = what is mapped now + ``memory_mb``; CPU seconds as a backstop."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            base = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        base = 0
    for which, soft in ((resource.RLIMIT_AS, base + memory_mb * 2**20),
                        (resource.RLIMIT_CPU, cpu_s)):
        _, hard = resource.getrlimit(which)
        value = soft if hard == resource.RLIM_INFINITY else min(soft, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(which, (value, hard))


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PDEATHSIG
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


# ------------------------------------------------------------------------ entry points


def load_network_isolated(
    path: str | os.PathLike[str],
    *,
    bbox: tuple[float, float, float, float] | None = None,
    polygon: shapely.Polygon | shapely.MultiPolygon | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> WalkNetwork:
    """:func:`geo.network.loaders.load_network` in a worker process (same arguments)."""
    net: WalkNetwork = run_isolated(load_network, os.fspath(path), bbox=bbox,
                                    polygon=polygon, cache_dir=cache_dir,
                                    timeout_s=timeout_s, memory_mb=memory_mb)
    return net


def download_network_isolated(
    *,
    place: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    polygon: shapely.Polygon | shapely.MultiPolygon | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    request_timeout_s: float = 180.0,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> WalkNetwork:
    """:func:`geo.network.loaders.download_network` in a worker process
    (``request_timeout_s`` is its per-request ``timeout_s``)."""
    options = {"place": place, "bbox": bbox, "polygon": polygon, "cache_dir": cache_dir,
               "timeout_s": request_timeout_s}
    net: WalkNetwork = run_isolated(_download, options, timeout_s=timeout_s,
                                    memory_mb=memory_mb)
    return net


def region_from_files_isolated(
    network_path: str | os.PathLike[str],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
    **options: Any,
) -> Region:
    """:func:`geo.pipeline.region.region_from_files` (network *and* layer files) in a
    worker process; ``options`` are its keyword arguments."""
    region: Region = run_isolated(region_from_files, os.fspath(network_path),
                                  timeout_s=timeout_s, memory_mb=memory_mb, **options)
    return region


def run_region_isolated(
    region: Region,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
    **options: Any,
) -> CoverageJob:
    """:func:`geo.pipeline.job.run_region` in a worker process; ``options`` are its keyword
    arguments (``params``, ``stations``, ``split_nearest``, ``per_station_areas``). The job
    comes back holding ``region.network`` itself (the network is not sent back)."""
    job: CoverageJob = run_isolated(_run_region_detached, region, options,
                                    timeout_s=timeout_s, memory_mb=memory_mb)
    return _attach(job, region.network)


def run_coverage_isolated(
    network: WalkNetwork,
    stations: LayerTable,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
    **options: Any,
) -> CoverageJob:
    """:func:`geo.pipeline.job.run_coverage` in a worker process; ``options`` are its
    keyword arguments. The job comes back holding ``network`` itself."""
    job: CoverageJob = run_isolated(_run_coverage_detached, network, stations, options,
                                    timeout_s=timeout_s, memory_mb=memory_mb)
    return _attach(job, network)


# worker-side wrappers (top level, so that they pickle)


def _download(options: dict[str, Any]) -> WalkNetwork:
    return download_network(**options)


def _run_region_detached(region: Region, options: dict[str, Any]) -> CoverageJob:
    return _detach(run_region(region, **options))


def _run_coverage_detached(network: WalkNetwork, stations: LayerTable,
                           options: dict[str, Any]) -> CoverageJob:
    return _detach(run_coverage(network, stations, **options))


def _detach(job: CoverageJob) -> CoverageJob:
    """The job with an empty stand-in network (the caller holds the real one)."""
    net = job.network
    empty_i = np.zeros(0, dtype=np.int64)
    empty_f = np.zeros(0, dtype=np.float64)
    stub = WalkNetwork(crs=net.crs, node_id=empty_i, node_x=empty_f, node_y=empty_f,
                       edge_u=empty_i, edge_v=empty_i, length_m=empty_f,
                       geometry=np.empty(0, dtype=object), edge_attrs=net.edge_attrs.iloc[:0],
                       filter_report=net.filter_report, source=net.source,
                       source_sha256=net.source_sha256, meta={"detached": True})
    return replace(job, network=stub, coverage=replace(job.coverage, network=stub))


def _attach(job: CoverageJob, network: WalkNetwork) -> CoverageJob:
    return replace(job, network=network, coverage=replace(job.coverage, network=network))


__all__ = [
    "DEFAULT_MEMORY_MB",
    "DEFAULT_TIMEOUT_S",
    "download_network_isolated",
    "load_network_isolated",
    "region_from_files_isolated",
    "run_coverage_isolated",
    "run_isolated",
    "run_region_isolated",
]
