"""The accounts part of the station store: adding users, passwords, sign-in.

Password rules and hashing are in :mod:`geo.stations.accounts`, who may write in
:mod:`geo.stations.access`.
"""

from __future__ import annotations

import contextlib

from geo.errors import AuthenticationError, StoreError, UserExistsError
from geo.stations.access import account_from_row, unknown_user, user_row
from geo.stations.accounts import (
    DUMMY_HASH,
    Account,
    check_password_strength,
    check_role_city,
    hash_password,
    needs_rehash,
    normalize_city,
    validate_role,
    validate_user_name,
    verify_password,
)
from geo.stations.db import Database
from geo.stations.records import user_name_arg, utc_now_iso


class UserStore(Database):
    """Local accounts in the database (a part of :class:`~geo.stations.store.StationStore`)."""

    def add_user(self, name: str, *, password: str, city: str, role: str,
                 check_strength: bool = True) -> Account:
        """Add a local account and return it.

        Editors need a city, admins are province-level (``city="province"`` or
        ``"广东省"``), reviewers either. Raises :class:`UserExistsError` for a taken
        name, :class:`~geo.errors.WeakPasswordError` for a weak password (unless
        ``check_strength=False``, e.g. for a random password of an OIDC-only user).
        """
        validate_user_name(name)
        validate_role(role)
        city = normalize_city(city)
        check_role_city(role, city)
        if check_strength:
            check_password_strength(password, name=name)
        password_hash = hash_password(password)  # slow (Argon2): outside the transaction
        account = Account(name=name, city=city, role=role, created_at=utc_now_iso())
        with self._write() as conn:
            if user_row(conn, name) is not None:
                raise UserExistsError(
                    f"user {name!r} already exists: choose another name, or change the "
                    "password with set_password"
                )
            conn.execute(
                "INSERT INTO users (name, city, role, password_hash, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (account.name, account.city, account.role, password_hash,
                 account.created_at),
            )
        return account

    def set_password(self, name: str, *, password: str, check_strength: bool = True) -> None:
        """Replace the password of user ``name`` (:class:`UnknownUserError` if absent)."""
        validate_user_name(name)
        if check_strength:
            check_password_strength(password, name=name)
        password_hash = hash_password(password)
        with self._write() as conn:
            if user_row(conn, name) is None:
                raise unknown_user(name)
            conn.execute("UPDATE users SET password_hash = ? WHERE name = ?",
                         (password_hash, name))

    # ---------------------------------------------------------------- sign-in

    def authenticate(self, name: str, password: str) -> Account:
        """Return the account if ``password`` is right, else raise AuthenticationError.

        The message is the same for an unknown name and a wrong password, and an unknown
        name is checked against a dummy hash so both take about as long.
        """
        failure = AuthenticationError(
            "user name or password is wrong: check both and try again"
        )
        row = None
        if isinstance(name, str) and isinstance(password, str) and name:
            with self._read() as conn:
                row = user_row(conn, name)
        ok = verify_password(row[4] if row else DUMMY_HASH, password)
        if row is None or not ok:
            raise failure
        if needs_rehash(row[4]):
            with contextlib.suppress(StoreError), self._write() as conn:
                conn.execute("UPDATE users SET password_hash = ? WHERE name = ?",
                             (hash_password(password), name))
        return account_from_row(row)

    # ---------------------------------------------------------------- reading accounts

    def get_user(self, name: str) -> Account:
        """The account called ``name`` (:class:`UnknownUserError` if there is none)."""
        name = user_name_arg(name)
        with self._read() as conn:
            row = user_row(conn, name)
        if row is None:
            raise unknown_user(name)
        return account_from_row(row)

    def users(self) -> list[Account]:
        """All accounts, sorted by name."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT name, city, role, created_at FROM users ORDER BY name"
            ).fetchall()
        return [account_from_row(r) for r in rows]


__all__ = ["UserStore"]
