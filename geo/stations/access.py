"""Who may write what, decided inside the store's write transactions.

Callers name the user (``user=``); the account is looked up in the same transaction as
the write, never taken from a passed-in :class:`~geo.stations.accounts.Account`:
editors change their own city, admins every city, reviewers never (:func:`require_writer`).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from geo.errors import PermissionDeniedError, UnknownUserError
from geo.stations.accounts import Account
from geo.stations.records import city_label


def account_from_row(row: tuple[Any, ...]) -> Account:
    """An :class:`Account` from ``(name, city, role, created_at, …)``."""
    name, city, role, created_at = row[:4]
    return Account(name=name, city=city, role=role, created_at=created_at)


def user_row(conn: sqlite3.Connection, name: str) -> tuple[Any, ...] | None:
    """``(name, city, role, created_at, password_hash)`` of ``name``, or None."""
    row: tuple[Any, ...] | None = conn.execute(
        "SELECT name, city, role, created_at, password_hash FROM users WHERE name = ?",
        (name,),
    ).fetchone()
    return row


def unknown_user(name: str) -> UnknownUserError:
    return UnknownUserError(
        f"unknown user {name!r}: check the name, or add the account first "
        "(yizhan users add)"
    )


def require_writer(conn: sqlite3.Connection, user: str, city: str) -> Account:
    """Look ``user`` up in this transaction; raise unless they may write ``city``."""
    row = user_row(conn, user)
    if row is None:
        raise unknown_user(user)
    account = account_from_row(row)
    if not account.can_write(city):
        if account.role == "reviewer":
            advice = "reviewers only read; ask an editor of that city or an admin"
        else:
            advice = ("editors change their own city only; ask an editor of that city or "
                      "an admin")
        raise PermissionDeniedError(
            f"user {account.name} ({account.role}, {city_label(account.city)}) may not "
            f"change the station list of {city}: {advice}"
        )
    return account


__all__ = ["account_from_row", "require_writer", "unknown_user", "user_row"]
