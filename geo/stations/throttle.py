"""Sign-in throttling: failed sign-ins per account name and per client, in the database.

The rule (:class:`ThrottleConfig`, defaults): the first 4 failures of an account name
cost nothing; the 5th locks the name for 30 s, each further failure after a lockout
doubles it (60 s, 120 s, …) up to 15 min. A client (the id string the app passes, e.g.
one per browser session) is throttled the same way after 20 failures, whatever names
it tries. While locked, attempts are refused without checking the password and do not
count, so a lockout always ends at ``locked_until``: an attacker can keep a name locked
only by coming back after each lockout, one guess per 15 min at most, and an admin can
lift it (:meth:`~geo.stations.store.StationStore.unlock_user`). A successful sign-in
clears the account's counter. Counters not touched for ``forget_after_s`` (24 h) are
forgotten and their rows deleted.

Names without an account are counted like real ones, so a lockout says nothing about
which names exist. Every attempt is counted *before* the password is checked (and the
count undone when it was right), so parallel attempts cannot slip past the limit.

The rows live in the ``sign_in_throttle`` table (schema 2), so the limits hold across
processes; times are Unix seconds from the store's clock (injectable for tests).
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
import unicodedata
from dataclasses import dataclass
from typing import Final, Literal

from geo.errors import InvalidParameterError, SignInLockedError
from geo.stations.accounts import MAX_NAME_LENGTH

Kind = Literal["user", "client"]
#: Longest client id accepted.
MAX_CLIENT_LENGTH: Final = 256


@dataclass(frozen=True)
class ThrottleConfig:
    """When failed sign-ins lock an account name or a client (see the module docstring).

    ``max_failures`` / ``client_max_failures``: the failure that starts the first lockout
    of a name / a client; ``base_lockout_s``: its length, doubled by each further failure
    up to ``max_lockout_s``; ``forget_after_s``: a counter untouched this long starts again.
    """

    max_failures: int = 5
    client_max_failures: int = 20
    base_lockout_s: float = 30.0
    max_lockout_s: float = 15 * 60.0
    forget_after_s: float = 24 * 3600.0

    def __post_init__(self) -> None:
        for name in ("max_failures", "client_max_failures"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidParameterError(
                    f"ThrottleConfig.{name} must be a whole number ≥ 1, got {value!r}"
                )
        for name in ("base_lockout_s", "max_lockout_s", "forget_after_s"):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, int | float)
                    or not math.isfinite(value) or value <= 0):
                raise InvalidParameterError(
                    f"ThrottleConfig.{name} must be a number of seconds > 0, got {value!r}"
                )
        if self.base_lockout_s > self.max_lockout_s:
            raise InvalidParameterError(
                f"ThrottleConfig.base_lockout_s ({self.base_lockout_s:g} s) must not exceed "
                f"max_lockout_s ({self.max_lockout_s:g} s)"
            )
        if self.forget_after_s < self.max_lockout_s:
            raise InvalidParameterError(
                f"ThrottleConfig.forget_after_s ({self.forget_after_s:g} s) must be at least "
                f"max_lockout_s ({self.max_lockout_s:g} s)"
            )

    def limit(self, kind: Kind) -> int:
        """The failure that starts the first lockout of a ``kind`` key."""
        return self.max_failures if kind == "user" else self.client_max_failures

    def lockout_s(self, failures: int, kind: Kind) -> float:
        """Seconds locked after the ``failures``-th failure in a row (0: not locked)."""
        over = failures - self.limit(kind)
        if over < 0:
            return 0.0
        return float(min(self.base_lockout_s * 2.0 ** min(over, 64), self.max_lockout_s))


@dataclass(frozen=True)
class Lock:
    """A key locked until ``until`` (Unix seconds)."""

    kind: Kind
    key: str
    until: float


def client_arg(client: object) -> str | None:
    """``client`` if it is None or a usable client id, else InvalidParameterError."""
    if client is None:
        return None
    if (not isinstance(client, str) or not 1 <= len(client) <= MAX_CLIENT_LENGTH
            or any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in client)):
        raise InvalidParameterError(
            f"client must be a client id of 1–{MAX_CLIENT_LENGTH} printable characters "
            "(or None)"
        )
    return client


def throttle_keys(name: str, client: str | None) -> list[tuple[Kind, str]]:
    """The keys one sign-in attempt counts against (a name too long to be an account's
    is not counted by name: no account can have it)."""
    keys: list[tuple[Kind, str]] = []
    if 1 <= len(name) <= MAX_NAME_LENGTH:
        keys.append(("user", name))
    if client is not None:
        keys.append(("client", client))
    return keys


def active_lock(conn: sqlite3.Connection, keys: list[tuple[Kind, str]],
                now: float) -> Lock | None:
    """The lock that ends last among ``keys``, or None when none is locked at ``now``."""
    found: Lock | None = None
    for kind, key in keys:
        row = conn.execute(
            "SELECT locked_until FROM sign_in_throttle WHERE kind = ? AND key = ?",
            (kind, key),
        ).fetchone()
        if row is not None and row[0] > now and (found is None or row[0] > found.until):
            found = Lock(kind=kind, key=key, until=float(row[0]))
    return found


def count_attempt(conn: sqlite3.Connection, keys: list[tuple[Kind, str]], now: float,
                  config: ThrottleConfig) -> Lock | None:
    """Count one attempt as a failure of every key; return the lock it starts, if any."""
    started: Lock | None = None
    for kind, key in keys:
        row = conn.execute(
            "SELECT failures, last_failure_at FROM sign_in_throttle WHERE kind = ? AND key = ?",
            (kind, key),
        ).fetchone()
        recent = row is not None and now - row[1] < config.forget_after_s
        failures = int(row[0]) + 1 if recent else 1
        lock_s = config.lockout_s(failures, kind)
        until = now + lock_s if lock_s > 0 else 0.0
        conn.execute(
            "INSERT INTO sign_in_throttle (kind, key, failures, last_failure_at, locked_until) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET "
            "failures = excluded.failures, last_failure_at = excluded.last_failure_at, "
            "locked_until = excluded.locked_until",
            (kind, key, failures, now, until),
        )
        if until > 0 and (started is None or until > started.until):
            started = Lock(kind=kind, key=key, until=until)
    return started


def undo_attempt(conn: sqlite3.Connection, keys: list[tuple[Kind, str]],
                 config: ThrottleConfig) -> None:
    """After a right password: clear the account's counter, take the attempt back from the
    client's (lifting a lockout it started)."""
    for kind, key in keys:
        if kind == "user":
            conn.execute("DELETE FROM sign_in_throttle WHERE kind = ? AND key = ?", (kind, key))
            continue
        conn.execute(
            "UPDATE sign_in_throttle SET failures = failures - 1, locked_until = CASE WHEN "
            "failures - 1 < ? THEN 0 ELSE locked_until END WHERE kind = ? AND key = ?",
            (config.limit(kind), kind, key),
        )
        conn.execute("DELETE FROM sign_in_throttle WHERE kind = ? AND key = ? AND failures < 1",
                     (kind, key))


def prune(conn: sqlite3.Connection, now: float, config: ThrottleConfig) -> None:
    """Delete counters that are not locked and were not touched for ``forget_after_s``."""
    conn.execute(
        "DELETE FROM sign_in_throttle WHERE last_failure_at <= ? AND locked_until <= ?",
        (now - config.forget_after_s, now),
    )


def clear(conn: sqlite3.Connection, kind: Kind, key: str) -> bool:
    """Delete the counter (and lockout) of one key; True if there was one."""
    cur = conn.execute("DELETE FROM sign_in_throttle WHERE kind = ? AND key = ?", (kind, key))
    return cur.rowcount > 0


def _when(until: float) -> str:
    return dt.datetime.fromtimestamp(until, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def locked_error(lock: Lock, now: float, *, just_failed: bool) -> SignInLockedError:
    """The error of an attempt refused (or just failed) because of ``lock`` (English and
    Chinese messages)."""
    wait_s = max(lock.until - now, 0.0)
    seconds, when = math.ceil(wait_s), _when(lock.until)
    retry = f"try again in {seconds} s (after {when})"
    retry_zh = f"请在 {seconds} 秒后（{when} 之后）重试"
    whose, whose_zh = (("this user name", "该用户名") if lock.kind == "user"
                       else ("this browser / client", "此浏览器 / 客户端"))
    if just_failed:
        text = (f"user name or password is wrong, and there were too many failed sign-ins "
                f"for {whose}: {retry}")
        text_zh = f"用户名或密码错误，{whose_zh}登录失败次数过多：{retry_zh}"
    else:
        text = f"too many failed sign-ins for {whose}: sign-in is locked, {retry}"
        text_zh = f"{whose_zh}登录失败次数过多，登录已暂时锁定：{retry_zh}"
    if lock.kind == "user":
        text += ", or ask an admin to unlock the account"
        text_zh += "，或请管理员解锁该账户"
    return SignInLockedError(text, retry_at=lock.until, retry_after_s=wait_s, zh=text_zh)


__all__ = ["MAX_CLIENT_LENGTH", "Lock", "ThrottleConfig"]
