"""Starting a signed-in session, the passkey enrolment window, and asking for a fresh sign-in."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from functools import cache, wraps

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from sqlalchemy import bindparam, func, select, update

from portal import clock
from portal.accounts.models import AccountIdentity, User, UserSession
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.database import read
from portal.errors import NotFound
from portal.extensions import db
from portal.notifications.models import InboxMessage

SIGNED_IN_AT = "signed_in_at"
_ENROLMENT = "passkey_enrolment"


SEEN_RESOLUTION = timedelta(hours=1)


def start_session(user, method: str = "password") -> None:
    """Sign `user` in on a new session: nothing from before survives, the CSRF secret included."""
    session.clear()  # the language lives in its own cookie, not in the session
    now = clock.now()
    row = UserSession(
        key=secrets.token_hex(16),
        user_id=user.id,
        device=_device(request.headers.get("User-Agent", "")),
        method=method,
        created_at=now,
        last_seen_at=now,
    )
    db.session.add(row)
    user.session_key = row.key
    login_user(user)
    session[SIGNED_IN_AT] = int(time.time())


def _device(user_agent: str) -> str:
    """A short, recognisable description of the browser ("Android · Chrome"), nothing more."""
    systems = (
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS", "Mac"),
        ("Linux", "Linux"),
    )
    browsers = (
        ("MicroMessenger", "WeChat"),
        ("Edg/", "Edge"),
        ("Chrome", "Chrome"),
        ("Firefox", "Firefox"),
        ("Safari", "Safari"),
    )
    system = next((name for marker, name in systems if marker in user_agent), "")
    browser = next((name for marker, name in browsers if marker in user_agent), "")
    return " · ".join(part for part in (system, browser) if part)[:100]


class SignedInUser(AccountIdentity):
    """The signed-in account as the session check read it: plain values, no ORM entity.

    Every signed-in request needs the account's id, role, name, unit and session; building
    and tracking an ORM entity for that cost more than the statement that reads them. Any
    other attribute (a column not read here, a relationship, a method of `User`) and every
    write go to the account's ORM row, loaded in the request's session on first need; from
    then on that row answers for every attribute, so a change made through it (a new
    session token, a sealed account) is what this object shows too.
    """

    # The columns read by the session check (see _session_query), in its order.
    COLUMNS = (
        "id",
        "role",
        "display_name",
        "org_unit_id",
        "is_active_account",
        "session_token",
        "last_seen_at",
    )
    _OWN = frozenset({"_values", "_record", "session_key", "unread_at_sign_in"})

    def __init__(self, values: dict, session_key: str, unread: int) -> None:
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_record", None)
        object.__setattr__(self, "session_key", session_key)
        object.__setattr__(self, "unread_at_sign_in", unread)  # see notifications.views.unread_badge

    @property
    def record(self) -> User:
        """The account's ORM row, for whatever needs more than the session check read."""
        record = self._record
        if record is None:
            record = db.session.get(User, self._values["id"])
            record.session_key = self.session_key
            object.__setattr__(self, "_record", record)
        return record

    def __getattr__(self, name: str):
        # Only reached for names not found on the object itself. Private names are not the
        # row's to answer: SQLAlchemy asks any object for `_sa_instance_state`, and this one
        # must not pass for an ORM row (give a relationship `user_record(user)` instead).
        if name.startswith("_"):
            raise AttributeError(name)
        values = self.__dict__["_values"]
        if name in values and self.__dict__["_record"] is None:
            return values[name]
        return getattr(self.record, name)

    def __setattr__(self, name: str, value) -> None:
        if name in self._OWN:
            object.__setattr__(self, name, value)
            if name == "session_key" and self._record is not None:
                self._record.session_key = value
            return
        setattr(self.record, name, value)

    def __eq__(self, other) -> bool:
        if isinstance(other, User | SignedInUser):
            return other.id == self.id
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("user", self.id))

    def __repr__(self) -> str:
        return f"<SignedInUser {self.id} {self.role}>"


def user_record(user) -> User:
    """The ORM row of `user`, which may be the session check's light view of it."""
    return user.record if isinstance(user, SignedInUser) else user


def user_of_session(session_id: str) -> SignedInUser | None:
    """The user of a live session named by the cookie's "id:token:key", or None."""
    user_id, token, key = (session_id.split(":") + ["", ""])[:3]
    if not key or not user_id.isdigit():
        return None
    row = read(db.session, _session_query(), {"key": key}).first()
    if row is None:
        return None
    seen, unread, *columns = row
    values = dict(zip(SignedInUser.COLUMNS, columns, strict=True))
    if values["id"] != int(user_id) or values["session_token"] != token:
        return None
    now = clock.now()
    if now - clock.aware(seen) > SEEN_RESOLUTION:
        # At most once an hour per session: two narrow UPDATEs, no entity loaded.
        db.session.execute(_seen_update(), {"session_key": key, "seen": now})
    last_seen = values["last_seen_at"]
    if last_seen is None or now - clock.aware(last_seen) > SEEN_RESOLUTION:
        # The account is in use ("unused" in M-24 means not used, not merely not signed in).
        db.session.execute(_account_seen_update(), {"user_id": values["id"], "seen": now})
        values["last_seen_at"] = now
    return SignedInUser(values, key, unread)


@cache
def _session_query():
    """When the live session was last seen, the header's unread count, and the narrow part
    of its user that a signed-in request needs: plain columns, built once (only the key is
    bound), no org unit joined."""
    # The header's unread badge comes with it (one COUNT on the inbox's index, no round trip).
    unread = (
        select(func.count())
        .where(InboxMessage.recipient_id == User.id, InboxMessage.read_at.is_(None))
        .scalar_subquery()
    )
    columns = [getattr(User, name) for name in SignedInUser.COLUMNS]
    return (
        select(UserSession.last_seen_at, unread, *columns)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.key == bindparam("key"), UserSession.ended_at.is_(None))
    )


@cache
def _seen_update():
    return (
        update(UserSession)
        .where(UserSession.key == bindparam("session_key"))
        .values(last_seen_at=bindparam("seen"))
        .execution_options(synchronize_session=False)
    )


@cache
def _account_seen_update():
    return (
        update(User)
        .where(User.id == bindparam("user_id"))
        .values(last_seen_at=bindparam("seen"))
        .execution_options(synchronize_session=False)
    )


def sessions_of(user) -> list[UserSession]:
    """The account's live sessions, the current one first."""
    rows = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())
    ).all()
    current = getattr(user, "session_key", None)
    return sorted(rows, key=lambda row: row.key != current)


def end_session(user, key: str) -> None:
    """End one of the account's own sessions (a lost phone); the cookie there stops working."""
    row = db.session.get(UserSession, key)
    if row is None or row.user_id != user.id:
        raise NotFound("session.not_found", _l("No such session."))
    if row.ended_at is None:
        row.ended_at = clock.now()
        record_event(AuditTag.ACCOUNT_SESSIONS_ENDED, actor=user, which="one")


def end_current_session(user) -> None:
    row = db.session.get(UserSession, getattr(user, "session_key", None) or "")
    if row is not None and row.ended_at is None:
        row.ended_at = clock.now()


def end_every_session(user) -> None:
    """Sign out everywhere: every session row ends and the token changes (old cookies too)."""
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=clock.now())
    )
    user.end_all_sessions()


def seconds_since_sign_in() -> float:
    return time.time() - session.get(SIGNED_IN_AT, 0)


def require_recent_sign_in(max_age: int | None = None):
    """Let the view run only if the person signed in within `max_age` seconds.

    Otherwise they are asked to sign in again (password or passkey) and come back here.
    `max_age` defaults to the RECENT_SIGN_IN_MAX_AGE setting. Put it under `@requires(...)`:

        @blueprint.get("/identity-card")
        @requires(Permission.CHILDREN_READ)
        @require_recent_sign_in()
        def identity_card(): ...

    For a POST, the person returns to the form's page (the POST is not replayed).
    """

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            limit = current_app.config["RECENT_SIGN_IN_MAX_AGE"] if max_age is None else max_age
            if current_user.is_authenticated and seconds_since_sign_in() > limit:
                from portal.web import form_page

                flash(_l("For your safety, please sign in again to continue."), "info")
                back_to = request.full_path.rstrip("?") if request.method == "GET" else form_page()
                return redirect(url_for("accounts.sign_in", next=back_to))
            return view(*args, **kwargs)

        guarded.recent_sign_in = max_age
        return guarded

    return decorate


def open_enrolment(user) -> None:
    """A staff member proved their password but has no passkey yet: let them add one, briefly."""
    session.clear()
    session[_ENROLMENT] = {"user": user.id, "token": user.session_token, "since": int(time.time())}


def enrolling_user():
    """The account in the enrolment window, if it is still open."""
    window = session.get(_ENROLMENT)
    if not window or time.time() - window["since"] > current_app.config["PASSKEY_ENROLMENT_WINDOW"]:
        return None
    user = db.session.get(User, window["user"])
    return user if user is not None and user.session_token == window["token"] else None


def close_enrolment() -> None:
    session.pop(_ENROLMENT, None)
