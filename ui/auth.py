"""Who is using the app: local accounts (password) or OIDC through ``st.login``.

The station database is configured with ``$YIZHAN_DB`` (a SQLite file made with
``yizhan users add … --db``). Without it the app still validates uploads and compares
coverage within the session, but stores nothing.

Sign-in:

* **local accounts** — user name + password checked by :meth:`StationStore.authenticate`
  (argon2 hashes in the database); the session remembers only the user name;
* **OIDC** — when ``.streamlit/secrets.toml`` has an ``[auth]`` section, ``st.login()``
  signs in with the identity provider and ``st.user.email`` must be an account name in
  the database (``yizhan users add EMAIL …``). ``st.user`` does not check token expiry
  (``../shared/notes/security.md``), so an ``exp`` claim in the past counts as signed out.

The account (role, city) is read from the database on every run and every write is
checked again inside :mod:`geo.stations.store`; nothing here grants a permission by itself.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from geo.errors import YizhanError
from geo.stations.accounts import Account
from geo.stations.store import StationStore
from ui.config import settings
from ui.state import AppState, tr
from ui.text import safe_message


def store_path() -> Path | None:
    """``$YIZHAN_DB`` (``None`` when storage is not configured)."""
    return settings().db_path


def open_store() -> StationStore | None:
    """The configured station database (a light handle: every call opens its own
    connection, so one per run is fine), or ``None``."""
    path = store_path()
    if path is None:
        return None
    return StationStore(path)


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _oidc_identity() -> tuple[str | None, str | None]:
    """(identity, problem) from ``st.user``: the e-mail (or name) of a signed-in user."""
    try:
        info = st.user.to_dict()
    except Exception:
        return None, None
    if not info.get("is_logged_in"):
        return None, None
    exp = info.get("exp")
    if isinstance(exp, int | float) and exp < time.time():
        return None, tr("单点登录已过期，请重新登录。", "Your sign-in has expired: sign in again.")
    ident = info.get("email") or info.get("preferred_username") or info.get("name")
    return (str(ident) if ident else None), None


def reader(state: AppState, store: StationStore | None) -> str | None:
    """Who reads the store in this session: the signed-in account's name, or ``None``
    (not signed in: current lists and version counts only — no raw uploads, no user
    names; the store enforces it)."""
    account = current_account(state, store)
    return account.name if account is not None else None


def client_id() -> str:
    """The browser's address for per-client sign-in throttling (``unknown`` behind a
    proxy that hides it; per-account throttling still applies)."""
    try:
        ip = st.context.ip_address
    except Exception:  # not running under a Streamlit server (AppTest, bare mode)
        ip = None
    return f"ip:{ip}" if ip else "ip:unknown"


def current_account(state: AppState, store: StationStore | None) -> Account | None:
    """The signed-in account, fresh from the database (``None``: nobody signed in)."""
    if store is None:
        return None
    ident, _problem = _oidc_identity()
    name = ident or state.login_name
    if not name:
        return None
    try:
        return store.get_user(name)
    except YizhanError:
        if not ident:
            state.login_name = None
        return None


def login_panel(state: AppState, store: StationStore) -> Account | None:
    """Sign-in / sign-out widgets; returns the current account."""
    ident, problem = _oidc_identity()
    if problem:
        st.warning(problem)
    account = current_account(state, store)
    if account is not None:
        city = tr("全省", "province") if account.is_province else account.city
        role = {"editor": tr("编辑", "editor"), "reviewer": tr("审阅（只读）", "reviewer "
                "(read-only)"), "admin": tr("省级管理员", "province admin")}[account.role]
        c1, c2 = st.columns([3, 1])
        c1.success(tr(f"已登录：{account.name}（{city}，{role}）",
                      f"Signed in: {account.name} ({city}, {role})"))
        if c2.button(tr("退出登录", "Sign out"), key="auth_logout"):
            state.login_name = None
            if ident:
                st.logout()
            st.rerun()
        return account
    if ident:
        st.error(tr(f"单点登录身份 {ident} 在站点数据库中没有账户：请管理员执行 "
                    f"`yizhan users add {ident} --city … --role … --db …`",
                    f"The signed-in identity {ident} has no account in the station database: "
                    f"ask an admin to run `yizhan users add {ident} --city … --role … --db …`"))
        return None
    with st.form("auth_login", clear_on_submit=False):
        st.markdown(tr("**登录后可保存、回滚站点名单版本**",
                       "**Sign in to store or roll back station list versions**"))
        name = st.text_input(tr("用户名", "User name"), key="auth_name")
        password = st.text_input(tr("密码", "Password"), type="password", key="auth_password")
        submitted = st.form_submit_button(tr("登录", "Sign in"))
    if oidc_configured() and st.button(tr("单点登录（OIDC）", "Sign in with SSO (OIDC)"),
                                       key="auth_oidc"):
        st.login()
    if submitted:
        try:
            acc = store.authenticate(name.strip(), password, client=client_id())
        except YizhanError as exc:
            st.error(safe_message(exc.message(state.lang)))
            return None
        state.login_name = acc.name
        st.rerun()
    return None
