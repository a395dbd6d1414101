"""Tests of geo.stations.accounts: roles, per-city write permission, passwords, names."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.errors import InvalidParameterError, WeakPasswordError
from geo.stations.accounts import (
    COMMON_PASSWORDS,
    PROVINCE,
    ROLES,
    Account,
    check_password_strength,
    hash_password,
    needs_rehash,
    normalize_city,
    validate_user_name,
    verify_password,
)

GOOD = "Lychee-harbour-42"


def account(role: str, city: str, name: str = "user") -> Account:
    return Account(name=name, city=city, role=role, created_at="2026-12-01T00:00:00Z")


# ----------------------------------------------------------------- cities and roles


@pytest.mark.parametrize("value", ["province", "Province", " PROVINCE ", "广东省", " 全省 "])
def test_province_aliases(value: str) -> None:
    assert normalize_city(value) == PROVINCE


def test_normalize_city_strips_and_refuses_empty() -> None:
    assert normalize_city(" 深圳市\t") == "深圳市"
    for bad in ("", "   ", "深圳\n市", "x" * 65):
        with pytest.raises(InvalidParameterError):
            normalize_city(bad)
    with pytest.raises(InvalidParameterError):
        normalize_city(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(("role", "home", "target", "allowed"), [
    ("editor", "广州市", "广州市", True),
    ("editor", "广州市", " 广州市 ", True),
    ("editor", "广州市", "深圳市", False),
    ("editor", "广州市", PROVINCE, False),
    ("reviewer", "广州市", "广州市", False),
    ("reviewer", "广州市", "深圳市", False),
    ("reviewer", PROVINCE, "广州市", False),
    ("admin", PROVINCE, "广州市", True),
    ("admin", PROVINCE, "深圳市", True),
    ("admin", "广东省", "潮州市", True),
])
def test_can_write_table(role: str, home: str, target: str, allowed: bool) -> None:
    user = account(role, home)
    assert user.can_write(target) is allowed
    assert user.can_read(target) is True
    assert user.can_read("深圳市") is True


def test_invalid_target_city_is_not_writable() -> None:
    assert account("admin", PROVINCE).can_write("") is False
    assert account("editor", "广州市").can_write("   ") is False


def test_role_city_rules() -> None:
    assert account("admin", "广东省").city == PROVINCE and account("admin", "全省").is_province
    assert account("reviewer", PROVINCE).is_province
    assert not account("reviewer", "广州市").is_province
    assert account("editor", " 广州市 ").city == "广州市"
    for city in (PROVINCE, "广东省", "全省"):
        with pytest.raises(InvalidParameterError, match="editor must belong to a city"):
            account("editor", city)
    with pytest.raises(InvalidParameterError, match="admin is province-level"):
        account("admin", "深圳市")
    with pytest.raises(InvalidParameterError) as err:
        account("superuser", PROVINCE)
    assert all(role in str(err.value) for role in ROLES)
    with pytest.raises(InvalidParameterError):
        account("Editor", "广州市")  # roles are exact


def test_account_is_frozen() -> None:
    user = account("editor", "广州市")
    with pytest.raises(dataclasses.FrozenInstanceError):
        user.role = "admin"  # type: ignore[misc]


# ----------------------------------------------------------------- user names


@pytest.mark.parametrize("name", ["gz_editor", "zhang.san@example.com", "张三", "a", "x" * 64])
def test_valid_user_names(name: str) -> None:
    assert validate_user_name(name) == name


@pytest.mark.parametrize("name", ["", " gz", "gz ", "a\nb", "a\x00b", "x" * 65, "ab\u202ecd",
                                  "a\u200bb"])
def test_invalid_user_names(name: str) -> None:
    with pytest.raises(InvalidParameterError):
        validate_user_name(name)
    with pytest.raises(InvalidParameterError):
        account("reviewer", PROVINCE, name=name)


# ----------------------------------------------------------------- password strength


@pytest.mark.parametrize(("password", "name", "why"), [
    ("Ab1!xyz", "gz_editor", "short"),
    ("Ab1!xyz12", "gz_editor", "short"),  # 9 characters
    ("gz_editor2026!", "gz_editor", "user name"),
    ("My-GZ_EDITOR-7", "gz_editor", "user name"),  # case-insensitive
    ("zhang.san-2026", "zhang.san@example.com", "user name"),  # e-mail local part
    ("1234509876", "gz_editor", "only digit"),
    ("abcdefghijkl", "gz_editor", "only letter"),
    ("驿站驿站驿站驿站驿站", "gz_editor", "only letter"),
    ("!@#$%^&*()_+", "gz_editor", "only other"),
    ("password123", "gz_editor", "common"),
    ("woaini1314", "gz_editor", "common"),
    ("PASSWORD123", "gz_editor", "common"),
    ("1qaz2wsx3edc", "gz_editor", "common"),
])
def test_weak_passwords_are_refused(password: str, name: str, why: str) -> None:
    with pytest.raises(WeakPasswordError, match=why) as err:
        check_password_strength(password, name=name)
    assert isinstance(err.value, InvalidParameterError)
    assert "choose" in str(err.value)  # says what to do


def test_common_list_and_strong_passwords() -> None:
    assert len(COMMON_PASSWORDS) >= 30
    assert {"password", "12345678", "qwerty", "88888888", "woaini1314"} <= COMMON_PASSWORDS
    for password in (GOOD, "深圳福田驿站-2026", "correct horse 7 battery"):
        check_password_strength(password, name="gz_editor")
    check_password_strength("ab1-xyz-7890", name="ab")  # a 2-letter name may appear


# ----------------------------------------------------------------- hashing


def test_hash_is_salted_and_verifies() -> None:
    first, second = hash_password(GOOD), hash_password(GOOD)
    assert first != second
    assert first.startswith("$argon2id$") and GOOD not in first
    assert verify_password(first, GOOD) and verify_password(second, GOOD)
    assert verify_password(first, GOOD + " ") is False
    assert verify_password(first, "") is False
    assert needs_rehash(first) is False


@pytest.mark.parametrize("bad_hash", ["", "not a hash", "$argon2id$v=19$m=1,t=1,p=1$xx$yy",
                                      None, 123])
def test_verify_never_raises_on_bad_hash(bad_hash: object) -> None:
    assert verify_password(bad_hash, GOOD) is False  # type: ignore[arg-type]
    assert verify_password(hash_password(GOOD), None) is False  # type: ignore[arg-type]


def test_needs_rehash_for_weaker_or_invalid_hash() -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(GOOD)
    assert verify_password(weak, GOOD)
    assert needs_rehash(weak) is True
    assert needs_rehash("garbage") is True


def test_empty_password_is_not_hashed() -> None:
    with pytest.raises(InvalidParameterError):
        hash_password("")


@given(st.text(min_size=1, max_size=64))
def test_normalize_city_is_idempotent(value: str) -> None:
    try:
        once = normalize_city(value)
    except InvalidParameterError:
        return
    assert normalize_city(once) == once
    assert once == once.strip() and once
