"""Who may read and write what, decided inside the store's transactions.

Callers name the user (``user=``); the account is looked up in the same transaction as
the read or write, never taken from a passed-in :class:`~geo.stations.accounts.Account`.

Readers (``user=`` of the reading methods):

* :data:`OPERATOR` (the default) — the server operator: library and CLI use on the
  machine that holds the database file (whoever can read the file can read all of it
  anyway). Reads everything.
* a user name — a signed-in user, any role: reads everything. A name without an account
  raises :class:`~geo.errors.UnknownUserError`.
* ``None`` — anonymous (the app without a sign-in): the current station list of each city
  (for coverage; without the ``extra`` original columns) and version numbers, dates and
  counts; no older versions' rows, no raw uploads, no validation reports, no user names,
  file names or notes (:data:`ANONYMOUS_TEXT` in their place). Anything else raises
  :class:`~geo.errors.ReadPermissionError`.

Writers: see :func:`require_writer` (editors their own city, admins every city, reviewers
never).
"""

from __future__ import annotations

import enum
import sqlite3
from typing import Any, Final, TypeAlias

from geo.errors import (
    InvalidParameterError,
    PermissionDeniedError,
    ReadPermissionError,
    UnknownUserError,
)
from geo.stations.accounts import Account
from geo.stations.records import city_label


class Operator(enum.Enum):
    """The type of :data:`OPERATOR`."""

    OPERATOR = "operator"

    def __repr__(self) -> str:
        return "OPERATOR"


#: The server operator (library / CLI default): full read access, see the module docstring.
OPERATOR: Final = Operator.OPERATOR
#: What a reading method's ``user=`` accepts.
Reader: TypeAlias = str | Operator | None
#: Shown to anonymous readers in place of user names, file names and notes.
ANONYMOUS_TEXT: Final = "—"


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


def require_admin(conn: sqlite3.Connection, by_admin: str | Operator, what: str) -> None:
    """Raise unless ``by_admin`` is :data:`OPERATOR` or the name of an admin account."""
    if by_admin is OPERATOR:
        return
    if not isinstance(by_admin, str):
        raise InvalidParameterError(
            f"by_admin must be an admin's user name, got {type(by_admin).__name__}"
        )
    row = user_row(conn, by_admin)
    if row is None:
        raise unknown_user(by_admin)
    account = account_from_row(row)
    if account.role != "admin":
        raise PermissionDeniedError(
            f"user {account.name} ({account.role}) may not {what}: only a province admin can"
        )


def full_reader(conn: sqlite3.Connection, user: Reader) -> bool:
    """True for the operator and signed-in users, False for anonymous (``None``).

    A user name is looked up in this transaction (:class:`UnknownUserError` if it has
    no account); any other value raises :class:`InvalidParameterError`.
    """
    if user is OPERATOR:
        return True
    if user is None:
        return False
    if not isinstance(user, str):
        raise InvalidParameterError(
            f"user must be a user name, None (not signed in) or OPERATOR, got "
            f"{type(user).__name__}"
        )
    if user_row(conn, user) is None:
        raise unknown_user(user)
    return True


def require_full_reader(conn: sqlite3.Connection, user: Reader, what: str,
                        what_zh: str) -> None:
    """Raise :class:`ReadPermissionError` unless :func:`full_reader`."""
    if not full_reader(conn, user):
        raise ReadPermissionError(f"sign in to see {what}: it is not shown without signing in",
                                  zh=f"登录后才能查看{what_zh}")


__all__ = [
    "ANONYMOUS_TEXT",
    "OPERATOR",
    "Operator",
    "Reader",
    "full_reader",
    "require_admin",
    "require_full_reader",
    "require_writer",
]
