"""The accounts part of the station store: adding users, passwords, sign-in (throttled)
and lifting lockouts.

Password rules and hashing are in :mod:`geo.stations.accounts`, the throttling rule in
:mod:`geo.stations.throttle`, who may read / write in :mod:`geo.stations.access`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import NoReturn

from geo.errors import AuthenticationError, StoreError, UserExistsError
from geo.stations.access import (
    OPERATOR,
    Operator,
    Reader,
    account_from_row,
    require_admin,
    require_full_reader,
    unknown_user,
    user_row,
)
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
from geo.stations.throttle import (
    Kind,
    ThrottleConfig,
    active_lock,
    clear,
    client_arg,
    count_attempt,
    locked_error,
    prune,
    throttle_keys,
    undo_attempt,
)

_WRONG: str = "user name or password is wrong: check both and try again"


class UserStore(Database):
    """Local accounts in the database (a part of :class:`~geo.stations.store.StationStore`).

    ``throttle`` and ``clock`` (Unix seconds) are set by the store's constructor.
    """

    throttle: ThrottleConfig
    clock: Callable[[], float]

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

    def authenticate(self, name: str, password: str, *, client: str | None = None) -> Account:
        """Return the account if ``password`` is right, else raise AuthenticationError.

        The message is the same for an unknown name and a wrong password, and an unknown
        name is checked against a dummy hash so both take about as long.

        Throttled (:mod:`geo.stations.throttle`, rule :attr:`throttle`): after too many
        failures for the name — or from ``client``, an id the app passes per browser
        client — sign-in is refused with :class:`~geo.errors.SignInLockedError` (a
        subclass of AuthenticationError) saying when to try again. A right password
        clears the name's counter.
        """
        client = client_arg(client)
        valid = isinstance(name, str) and isinstance(password, str) and bool(name)
        keys = throttle_keys(name if isinstance(name, str) else "", client)
        if keys:
            self._count_attempt(keys)
        row = None
        if valid:
            with self._read() as conn:
                row = user_row(conn, name)
        ok = verify_password(row[4] if row else DUMMY_HASH, password)
        if row is None or not ok:
            self._failed(keys)
        self._succeeded(keys, name, password, row[4])
        return account_from_row(row)

    def _count_attempt(self, keys: list[tuple[Kind, str]]) -> None:
        """Refuse a locked key; else count this attempt as a failure (undone on success)."""
        now = self.clock()
        with self._write() as conn:
            lock = active_lock(conn, keys, now)
            if lock is None:
                prune(conn, now, self.throttle)
                count_attempt(conn, keys, now, self.throttle)
        if lock is not None:
            raise locked_error(lock, now, just_failed=False)

    def _failed(self, keys: list[tuple[Kind, str]]) -> NoReturn:
        """Raise for a wrong name / password (saying so if this failure locked a key)."""
        now = self.clock()
        if keys:
            with self._read() as conn:
                lock = active_lock(conn, keys, now)
            if lock is not None:
                raise locked_error(lock, now, just_failed=True)
        raise AuthenticationError(_WRONG)

    def _succeeded(self, keys: list[tuple[Kind, str]], name: str, password: str,
                   password_hash: str) -> None:
        """Clear the name's counter; rehash a password stored with older parameters."""
        rehash = hash_password(password) if needs_rehash(password_hash) else None
        with contextlib.suppress(StoreError), self._write() as conn:
            undo_attempt(conn, keys, self.throttle)
            if rehash is not None:
                conn.execute("UPDATE users SET password_hash = ? WHERE name = ?",
                             (rehash, name))

    def unlock_user(self, name: str, *, by_admin: str | Operator) -> bool:
        """Lift the sign-in lockout of ``name`` and clear its failure counter.

        ``by_admin``: the name of a province admin (checked in the transaction,
        :class:`~geo.errors.PermissionDeniedError` otherwise), or :data:`OPERATOR` for
        the CLI on the server. :class:`UnknownUserError` if ``name`` has no account.
        Returns True if there was a counter to clear.
        """
        name = user_name_arg(name)
        with self._write() as conn:
            require_admin(conn, by_admin, "unlock accounts")
            if user_row(conn, name) is None:
                raise unknown_user(name)
            return clear(conn, "user", name)

    def unlock_client(self, client: str, *, by_admin: str | Operator) -> bool:
        """Lift the sign-in lockout of client id ``client`` (rules as :meth:`unlock_user`)."""
        key = client_arg(client)
        if key is None:
            raise StoreError("unlock_client needs the client id, not None")
        with self._write() as conn:
            require_admin(conn, by_admin, "unlock clients")
            return clear(conn, "client", key)

    # ---------------------------------------------------------------- reading accounts

    def get_user(self, name: str, *, user: Reader = OPERATOR) -> Account:
        """The account called ``name`` (:class:`UnknownUserError` if there is none).

        ``user``: who reads (:mod:`geo.stations.access`); anonymous readers (None) get
        :class:`~geo.errors.ReadPermissionError`.
        """
        name = user_name_arg(name)
        with self._read() as conn:
            require_full_reader(conn, user, "accounts", "账户")
            row = user_row(conn, name)
        if row is None:
            raise unknown_user(name)
        return account_from_row(row)

    def users(self, *, user: Reader = OPERATOR) -> list[Account]:
        """All accounts, sorted by name (not for anonymous readers, see :meth:`get_user`)."""
        with self._read() as conn:
            require_full_reader(conn, user, "accounts", "账户")
            rows = conn.execute(
                "SELECT name, city, role, created_at FROM users ORDER BY name"
            ).fetchall()
        return [account_from_row(r) for r in rows]


__all__ = ["UserStore"]
