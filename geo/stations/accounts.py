"""Local accounts: roles, per-city write permissions and password hashing.

Pure logic (no database): :mod:`geo.stations.store` keeps the accounts and calls these rules
inside its write transactions.

Roles
    ``editor``   belongs to one city and may change that city's station list only;
    ``reviewer`` may read every city and never writes (city or province level);
    ``admin``    is province-level and may change every city's station list.

Every signed-in user (any role) may read every city; what readers who are not signed in
see is decided by the store (:mod:`geo.stations.access`). Passwords are hashed with
Argon2id (``argon2-cffi``), salted per hash; failed sign-ins are throttled by the store
(:mod:`geo.stations.throttle`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error, InvalidHashError

from geo.errors import InvalidParameterError, WeakPasswordError

ROLES: Final[tuple[str, ...]] = ("editor", "reviewer", "admin")

#: The city value of province-level users (admins, province reviewers).
PROVINCE: Final = "province"

#: Values that mean "province level" (compared case-insensitively after stripping).
PROVINCE_ALIASES: Final[frozenset[str]] = frozenset({"province", "广东省", "全省"})

MIN_PASSWORD_LENGTH: Final = 10
MAX_NAME_LENGTH: Final = 64
MAX_CITY_LENGTH: Final = 64

#: Passwords refused whatever their length (compared lower-cased).
COMMON_PASSWORDS: Final[frozenset[str]] = frozenset({
    "password", "12345678", "qwerty", "123456789", "1234567890", "abc123456",
    "password123", "admin123", "iloveyou", "11111111", "00000000", "88888888",
    "66666666", "woaini1314", "qwertyuiop", "1qaz2wsx3edc", "1q2w3e4r5t",
    "qwerty123456", "a123456789", "abc1234567", "abcd123456", "password1234",
    "passw0rd123", "p@ssw0rd123", "admin12345", "admin123456", "zxcvbnm123",
    "aa123456789", "qq123456789", "1234567890a", "iloveyou123", "woaini520520",
    "5201314520", "123456abc", "12345678910", "welcome123",
})

# Unicode categories refused in user and city names: control, format (zero-width,
# bidi overrides), line / paragraph separators.
_FORBIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp"})

# Argon2id with argon2-cffi's defaults (t=3, m=64 MiB, p=4). Configuration only: the
# hasher keeps no state between calls.
_HASHER: Final = PasswordHasher()

#: A valid hash of a password nobody knows, verified when a user name does not exist so
#: that an unknown name costs about as long as a wrong password.
DUMMY_HASH: Final = (
    "$argon2id$v=19$m=65536,t=3,p=4$WydcrKs7wLN1LfeYp+GTug$"
    "fnY3HUgvWKHyaYkTYujy3Ulux6K/ERxABLJpRFmcoY4"
)


def _has_forbidden_chars(value: str) -> bool:
    return any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in value)


def normalize_city(value: object) -> str:
    """Return the canonical city value: stripped, province aliases mapped to PROVINCE.

    ``"province"``, ``"广东省"`` and ``"全省"`` (any case, surrounding spaces ignored)
    become :data:`PROVINCE`; any other value is returned stripped, e.g. ``"深圳市"``.
    Raises :class:`InvalidParameterError` for an empty value, control characters or a
    value longer than 64 characters.
    """
    if not isinstance(value, str):
        raise InvalidParameterError(
            f"city must be text such as '深圳市' or 'province', got {type(value).__name__}"
        )
    city = value.strip()
    if not city:
        raise InvalidParameterError(
            "city is empty: give a city name such as '深圳市', or 'province' (广东省) for "
            "province-level users"
        )
    if city.lower() in PROVINCE_ALIASES:
        return PROVINCE
    if len(city) > MAX_CITY_LENGTH or _has_forbidden_chars(city):
        raise InvalidParameterError(
            f"city {city!r} is not a valid city name: use at most {MAX_CITY_LENGTH} "
            "printable characters, e.g. '深圳市'"
        )
    return city


def validate_user_name(name: object) -> str:
    """Return ``name`` unchanged if it is a valid user name, else raise.

    1–64 characters, no control / invisible format characters, no leading or trailing
    whitespace. E-mail addresses are fine (OIDC users are added under their address).
    """
    if not isinstance(name, str):
        raise InvalidParameterError(
            f"user name must be text, got {type(name).__name__}"
        )
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidParameterError(
            f"user name must be 1–{MAX_NAME_LENGTH} characters long (got {len(name)}): "
            "choose e.g. 'gz_editor' or an e-mail address"
        )
    if name != name.strip():
        raise InvalidParameterError(
            f"user name {name!r} starts or ends with whitespace: remove the spaces"
        )
    if _has_forbidden_chars(name):
        raise InvalidParameterError(
            f"user name {name!r} contains control or invisible characters: use printable "
            "characters only"
        )
    return name


def validate_role(role: object) -> str:
    """Return ``role`` if it is one of :data:`ROLES`, else raise InvalidParameterError."""
    if role not in ROLES:
        raise InvalidParameterError(
            f"unknown role {role!r}: use one of {', '.join(ROLES)}"
        )
    return str(role)


def check_role_city(role: str, city: str) -> None:
    """Raise :class:`InvalidParameterError` unless ``role`` may belong to ``city``.

    Editors belong to one city (not the province); admins are province-level;
    reviewers may be either. ``city`` must already be normalized.
    """
    validate_role(role)
    if role == "editor" and city == PROVINCE:
        raise InvalidParameterError(
            "an editor must belong to a city (e.g. --city 深圳市), not the province: give "
            "the city, or make a province-level user a reviewer or admin"
        )
    if role == "admin" and city != PROVINCE:
        raise InvalidParameterError(
            f"an admin is province-level, but city {city!r} was given: use --city province "
            "(广东省), or make a city user an editor or reviewer"
        )


@dataclass(frozen=True)
class Account:
    """A local user: name, city (or :data:`PROVINCE`), role and creation time (UTC ISO).

    Construction validates the name, role and city rules (the city is normalized), so
    every Account object obeys them. Permission checks that matter are done by
    :class:`geo.stations.store.StationStore` from the database, never from a passed-in Account.
    """

    name: str
    city: str
    role: str
    created_at: str

    def __post_init__(self) -> None:
        validate_user_name(self.name)
        city = normalize_city(self.city)
        object.__setattr__(self, "city", city)
        check_role_city(self.role, city)

    @property
    def is_province(self) -> bool:
        """True for province-level users (city == PROVINCE)."""
        return self.city == PROVINCE

    def can_read(self, city: str) -> bool:
        """Every signed-in user may read every city's station list."""
        return True

    def can_write(self, city: str) -> bool:
        """May this user change the station list of ``city``?

        admin: any city; editor: only their own city; reviewer: never. An invalid city
        value gives False.
        """
        try:
            target = normalize_city(city)
        except InvalidParameterError:
            return False
        if self.role == "admin":
            return True
        if self.role == "editor":
            return target == self.city and target != PROVINCE
        return False


def check_password_strength(password: str, *, name: str) -> None:
    """Raise :class:`WeakPasswordError` if ``password`` is too weak for user ``name``.

    Refused: shorter than 10 characters; equal to or containing the user name (or the
    part of an e-mail address before ``@``), case-insensitively; only one character
    class (all letters, all digits, or all other symbols); a common password.
    """
    if not isinstance(password, str):
        raise WeakPasswordError("password must be text")
    advice = (
        f"choose at least {MIN_PASSWORD_LENGTH} characters mixing letters with digits or "
        "symbols, e.g. a few unrelated words and numbers"
    )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(
            f"password is too short ({len(password)} characters): {advice}"
        )
    lowered = password.casefold()
    if lowered in COMMON_PASSWORDS:
        raise WeakPasswordError(f"password is a commonly used password: {advice}")
    name_parts = {name.casefold()}
    if "@" in name:
        name_parts.add(name.split("@", 1)[0].casefold())
    for part in name_parts:
        if part and (lowered == part or (len(part) >= 3 and part in lowered)):
            raise WeakPasswordError(
                f"password contains the user name: {advice}, without the user name"
            )
    classes = {
        "letter" if ch.isalpha() else "digit" if ch.isdigit() else "other"
        for ch in password
    }
    if len(classes) < 2:
        only = next(iter(classes))
        raise WeakPasswordError(
            f"password has only {only} characters: {advice}"
        )


def hash_password(password: str) -> str:
    """Return a salted Argon2id hash of ``password`` (a different string every call)."""
    if not isinstance(password, str) or not password:
        raise InvalidParameterError("password must be non-empty text")
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True if ``password`` matches ``password_hash``; False on mismatch or a bad hash.

    Never raises for a wrong password, a malformed hash or non-text arguments.
    """
    if not isinstance(password_hash, str) or not isinstance(password, str):
        return False
    try:
        return bool(_HASHER.verify(password_hash, password))
    except (Argon2Error, InvalidHashError, ValueError, TypeError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True if the hash uses older parameters than the current hasher (or is invalid)."""
    try:
        return bool(_HASHER.check_needs_rehash(password_hash))
    except (Argon2Error, InvalidHashError, ValueError, TypeError):
        return True
