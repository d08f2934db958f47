"""Wiring shared by every page and endpoint: extensions, the one commit, errors, headers."""

from __future__ import annotations

import logging
import secrets
from typing import NamedTuple
from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    flash,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import Domain, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from jinja2 import pass_context
from markupsafe import Markup
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import IntegerConverter

from portal.config import ROOT
from portal.database import configure_sqlite, configure_transactions, wrote_anything
from portal.errors import DomainError
from portal.extensions import babel, csrf, db, limiter, login_manager, migrate
from portal.templating import use_translations

LANGUAGES = {"zh_Hans": "中文", "en": "English"}
LANGUAGE_COOKIE = "lang"

# No third-party host, no inline script: everything the pages need is served from here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


# The largest id any table holds: primary keys are INTEGER, 32-bit on PostgreSQL (which
# refuses to compare them with a larger parameter rather than finding nothing).
MAX_ID = 2**31 - 1

log = logging.getLogger(__name__)


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: a number no table can hold is simply not found (404).

    Without the bound, SQLite raises OverflowError for a 65-bit id and PostgreSQL an
    out-of-range error for anything past 32 bits, and the page answered 500.
    """

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            # Not found, at once, whatever the method: a refused match (ValidationError) on a
            # path that another method's rule matched would make Werkzeug answer 405 instead.
            raise NotFound()
        return number


def select_locale() -> str:
    if not has_request_context():
        return "zh_Hans"  # CLI and background work speak the default language
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in LANGUAGES else "zh_Hans"


class _LocaleCachedDomain(Domain):
    """Flask-Babel's message domain, finding a request's translations in one step.

    Every `gettext` (and every lazy label turned into text) asked Flask-Babel for the
    request's context three times, the locale and the domain included: a page of 20
    search results paid that 40 times. The translations are kept with the locale they
    were found for; a changed locale (`force_locale`) finds its own.
    """

    def get_translations(self):
        state = g.get("_flask_babel") if has_request_context() else None
        locale = getattr(state, "babel_locale", None)
        found = getattr(state, "portal_translations", None)
        if found is not None and found[0] is locale:
            return found[1]
        translations = super().get_translations()
        if state is not None:  # the first call also settled the locale
            state.portal_translations = (state.babel_locale, translations)
        return translations


def init_extensions(app: Flask) -> None:
    from portal import models  # noqa: F401  (every table must be known to Alembic)
    from portal.logging_filters import install_log_scrubber

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
        configure_transactions(db.engine)
    # Batch mode lets later migrations alter tables on SQLite too.
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.sign_in"
    login_manager.login_message = _l("Please sign in first.")
    login_manager.unauthorized_handler(ask_to_sign_in)
    # "basic", not "strong": strong ties the session to the IP address, and a phone moving
    # between Wi-Fi and mobile data would be signed out on every switch.
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    babel.domain_instance = _LocaleCachedDomain()
    limiter.init_app(app)
    install_log_scrubber(logging.getLogger())

    @login_manager.user_loader
    def load_user(session_id: str):
        from portal.accounts.sessions import user_of_session

        # "id:token:key": one indexed lookup of the session row by its key, joined to the
        # user's own narrow row (portal/accounts/sessions.py); an ended session or a changed
        # token finds no one. This runs on every signed-in request: keep it one statement.
        return user_of_session(session_id)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter  # before any route is added
    from api import blueprint as api_blueprint
    from portal.accounts.getting_in_views import blueprint as getting_in
    from portal.accounts.passkey_views import blueprint as passkeys
    from portal.accounts.staff_views import blueprint as staff_accounts
    from portal.accounts.views import blueprint as accounts
    from portal.corrections.views import blueprint as corrections
    from portal.evidence.views import blueprint as evidence
    from portal.guardians.views import blueprint as guardians
    from portal.identity.views import blueprint as identity
    from portal.notifications.views import blueprint as inbox
    from portal.oversight.views import blueprint as oversight
    from portal.provinces.views import blueprint as provinces
    from portal.registry.views import blueprint as registry
    from portal.requests.views import blueprint as requests
    from portal.transfers.views import blueprint as transfers

    for blueprint in (
        accounts,
        passkeys,
        getting_in,
        staff_accounts,
        guardians,
        registry,
        provinces,
        inbox,
        evidence,
        identity,
        oversight,
        corrections,
        requests,
        transfers,
    ):
        app.register_blueprint(blueprint)
    app.register_blueprint(api_blueprint, url_prefix="/api/v1")


def register_request_hooks(app: Flask) -> None:
    @app.before_request
    def refuse_nul_characters():
        """No honest input holds U+0000, and PostgreSQL text cannot store it (it would be a 500)."""
        if _carries_nul():
            message = _l("The input contains a character that cannot be accepted.")
            return _error_response(400, "request.nul_character", message)
        return None

    @app.after_request
    def commit_or_roll_back(response):
        """One commit per request: a success commits, anything else changes nothing.

        A request that wrote nothing has no transaction open (portal/database.py) and
        sends no COMMIT.
        """
        if not db.session.registry.has():
            return response  # the request never touched the database (no session to make)
        if response.status_code < 400 or g.get("keep_bookkeeping"):
            if wrote_anything(db.session()):
                db.session.commit()
        else:
            db.session.rollback()
        return response

    static_headers = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(self)"),
    ]
    if app.config["SESSION_COOKIE_SECURE"]:  # served over HTTPS: keep it that way
        static_headers.append(("Strict-Transport-Security", "max-age=31536000"))

    @app.after_request
    def security_headers(response):
        headers = response.headers
        present = {name.lower() for name, _ in headers.items()}
        headers.extend((name, value) for name, value in static_headers if name.lower() not in present)
        if "cache-control" not in present and _signed_in():
            headers["Cache-Control"] = "no-store"
        return response


def _signed_in() -> bool:
    """Whether the request is a signed-in one, without a user lookup the page did not need."""
    user = g.get("_login_user")
    if user is not None:
        return user.is_authenticated
    return "_user_id" in session


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        """Only reached where a view did not handle the error itself."""
        g.keep_bookkeeping = error.keep_bookkeeping
        return _error_response(error.status, error.code, error.message)

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError):
        if not current_user.is_authenticated and _needs_sign_in() and not request.path.startswith("/api/"):
            return ask_to_sign_in()  # the session ended (and its form token with it) while they typed
        message = _l("This form has expired. Please go back, reload the page and try again.")
        return _error_response(400, "request.csrf_failed", message)

    for status, code, message in HTTP_ERRORS:
        app.register_error_handler(status, _http_error_handler(status, code, message))

    @app.errorhandler(HTTPException)
    def other_http_error(error: HTTPException):
        """Any other HTTP status Werkzeug raises (400, 414, 431...): still our page, our language."""
        status = error.code or 500
        if status >= 500:
            return unexpected_error(error)
        return _error_response(status, "request.bad", _l("This request could not be understood."))

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        """A bug: the details go to the log under an incident id; the person gets the id only."""
        # Two groups with a dash: never shaped like a passport number, which the log scrubber
        # would redact (an id like "E1234567" would vanish from the very log it points into).
        token = secrets.token_hex(4).upper()
        incident = f"{token[:4]}-{token[4:]}"
        db.session.rollback()  # the page below may read the database; the failed work is void
        log.error(
            "incident %s: unexpected error on %s %s", incident, request.method, request.path, exc_info=error
        )
        message = _l(
            "Something went wrong on our side. Nothing was saved. Please try again later; "
            "if it happens again, tell the school or the help desk the incident number %(incident)s.",
            incident=incident,
        )
        return _error_response(500, "server.unexpected", message, incident=incident)


def _needs_sign_in() -> bool:
    from portal.security.permissions import Permission

    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "required_permission", Permission.PUBLIC) is not Permission.PUBLIC


def ask_to_sign_in():
    """Send a signed-out visitor to sign in, and back to where they were going afterwards.

    A form sent after the session ended returns them to the form's page (the POST itself
    is not replayed: nothing was saved, and they are told so in plain words).
    """
    if request.method == "GET":
        flash(_l("Please sign in first."), "info")
        back_to = request.full_path.rstrip("?")
    else:
        flash(
            _l(
                "You were signed out before the form was sent, so nothing was saved. "
                "Please sign in again: you will come back to the form."
            ),
            "info",
        )
        back_to = form_page()
    return redirect(url_for("accounts.sign_in", next=back_to))


def form_page() -> str:
    """The page that showed the form just sent: its own URL if it answers GET, else the referrer."""
    rule = request.url_rule
    if rule is not None and "GET" in rule.methods:
        return request.path
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path.startswith("/"):
        return referrer.path
    return url_for("accounts.index")


def safe_next(target: str) -> str:
    """Only a plain path on this site: never an open redirect."""
    # Browsers drop tabs and newlines inside URLs, so "/\t/evil.example" is "//evil.example".
    plain = target.isprintable() and not any(ch.isspace() or ch == "\\" for ch in target)
    parts = urlsplit(target)
    if plain and target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return url_for("accounts.index")


HTTP_ERRORS = (
    (401, "request.unauthenticated", _l("Please sign in first.")),
    (403, "request.forbidden", _l("You may not do this.")),
    (404, "request.not_found", _l("This page does not exist.")),
    (405, "request.method_not_allowed", _l("This action is not available here.")),
    (413, "request.too_large", _l("The upload is too large.")),
    (414, "request.uri_too_long", _l("This address is too long.")),
    (429, "request.too_many", _l("Too many attempts. Please wait a minute and try again.")),
)


def _carries_nul() -> bool:
    if "\x00" in request.path:
        return True
    if request.query_string and any("\x00" in value for value in request.args.values()):
        return True
    if not (request.content_length or "Transfer-Encoding" in request.headers):
        return False  # no body to look into (most requests: every page a browser opens)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return any("\x00" in value for value in request.form.values())
    if request.is_json:  # the raw body: a JSON string spells the character \u0000
        body = request.get_data(cache=True)
        return b"\\u0000" in body or b"\x00" in body
    return False


def _http_error_handler(status: int, code: str, message):
    def handle(error: HTTPException):
        response = _error_response(status, code, message)
        # 405 names the methods that would work (RFC 9110); Retry-After on 429.
        for name, value in error.get_headers():
            if name in ("Allow", "Retry-After"):
                response.headers[name] = value
        return response

    return handle


def _error_response(status: int, code: str, message, incident: str | None = None):
    """problem+json for the API (also for URLs under it that matched no route), a page otherwise."""
    from flask import make_response

    from api.errors import problem_response

    if request.blueprint == "api" or request.path.startswith("/api/"):
        return problem_response(status, code, str(message), incident=incident)
    return make_response(render_template("error.html", message=message, code=code, incident=incident), status)


def render_form_error(template: str, error: DomainError, **context):
    """Re-show a form with the refusal in the user's language; nothing was saved."""
    g.keep_bookkeeping = error.keep_bookkeeping
    flash(error.message, "error")
    return render_template(template, error_code=error.code, **context), error.status


def register_template_helpers(app: Flask) -> None:
    from portal.approvals.kinds import case_kind_label, step_role_label
    from portal.guardians.models import Relation
    from portal.notifications.views import unread_badge
    from portal.registry.codes import ethnicity_name
    from portal.registry.masking import mask_document_number, mask_mobile, mask_student_number
    from portal.registry.models import grade_label
    from portal.registry.status import Status
    from portal.security.permissions import Permission, has_permission

    app.jinja_env.filters["mask_document"] = mask_document_number
    app.jinja_env.filters["mask_student_number"] = mask_student_number
    app.jinja_env.filters["mask_mobile"] = mask_mobile
    app.jinja_env.globals.update(
        status_label=lambda code: _enum_label(Status, code),
        ethnicity_name=ethnicity_name,
        relation_label=lambda code: _enum_label(Relation, code),
        role_label=step_role_label,
        grade_label=grade_label,
        case_kind_label=case_kind_label,
        can=lambda permission: has_permission(current_user, Permission(permission)),
        unread_messages=unread_badge,
        nav_links=nav_links,
    )

    # Flask-Babel's template callables go through get_domain() for every string a
    # template translates (a search page translates over a hundred); the domain's
    # translations are found once per request (_LocaleCachedDomain): go to them directly.
    domain = babel.domain_instance
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: domain.get_translations().ugettext(s),
        ngettext=lambda s, p, n: domain.get_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: domain.get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: domain.get_translations().unpgettext(c, s, p, n),
    )
    # `_` and `ngettext` themselves, the ones nearly every string goes through: Jinja's
    # newstyle wrappers reach the translation through three `Context.call`s (each
    # inspecting its callee); these do what those wrappers do, in one call.
    app.jinja_env.globals.update(_template_gettext_callables(domain))
    # And `_('a fixed text')` is translated once, when a template is compiled for a language.
    use_translations(app.jinja_env, domain.get_translations)

    @app.context_processor
    def page_globals():
        locale = get_locale()
        return {
            "languages": LANGUAGES,
            "current_language": str(locale) if locale else "zh_Hans",
            "html_lang": "en" if locale and locale.language == "en" else "zh-Hans",
            "chrome": chrome_urls(),
        }


# The header's links by role, in order: (endpoint, label, the permission that shows it).
STAFF_NAV = (
    ("registry.students", _l("Students"), None),
    ("requests.queue", _l("Approval queue"), "cases:decide"),
    ("requests.early_warning", _l("Deadline warnings"), "alerts:read"),
    ("staff_accounts.index", _l("Staff accounts"), "staff_accounts:manage"),
    ("provinces.settings", _l("Province settings"), "province:settings:edit"),
    ("identity.relying_party_approvals", _l("Relying parties"), "identity:relying_parties:approve"),
    ("oversight.warnings", _l("Early warnings"), "security:warnings"),
    ("oversight.exports", _l("Exports"), "exports:request"),
)
GUARDIAN_NAV = (("guardians.home", _l("My children"), None),)
_nav_links_cache: dict[tuple, list[tuple[str, str]]] = {}


def nav_links(user) -> list[tuple[str, str]]:
    """The role's own header links as (url, label), worked out once per role, language and
    mount point: every signed-in page shows them, and they depend on nothing else
    (permissions follow the role)."""
    from portal.security.permissions import ROLE_PERMISSIONS, Permission

    locale = get_locale()
    key = (user.role, str(locale), request.script_root)
    links = _nav_links_cache.get(key)
    if links is None:
        held = ROLE_PERMISSIONS[user.role_enum]
        table = STAFF_NAV if user.is_staff else GUARDIAN_NAV
        links = [
            (url_for(endpoint), str(label))
            for endpoint, label, permission in table
            if permission is None or Permission(permission) in held
        ]
        _nav_links_cache[key] = links
    return links


def _template_gettext_callables(domain) -> dict:
    """Jinja's newstyle `gettext`/`ngettext` (autoescaped, always %-formatted, `num` given
    to ngettext), calling the request's translations directly."""

    @pass_context
    def gettext(context, string, /, **variables):
        text = domain.get_translations().ugettext(string)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    @pass_context
    def ngettext(context, singular, plural, num, /, **variables):
        variables.setdefault("num", num)
        text = domain.get_translations().ungettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext}


class ChromeUrls(NamedTuple):
    """The page chrome's links, which never change (the style sheet, the header's forms and
    links): built once per mount point, read on every page as plain attributes."""

    css: str
    favicon: str
    home: str
    language: str
    inbox: str
    account: str
    sign_out: str


_chrome_urls: dict[str, ChromeUrls] = {}


def chrome_urls() -> ChromeUrls:
    urls = _chrome_urls.get(request.script_root)
    if urls is None:
        urls = _chrome_urls[request.script_root] = ChromeUrls(
            css=url_for("static", filename="portal.css"),
            favicon=url_for("static", filename="favicon.svg"),
            home=url_for("accounts.index"),
            language=url_for("accounts.choose_language"),
            inbox=url_for("inbox.index"),
            account=url_for("accounts.account"),
            sign_out=url_for("accounts.sign_out"),
        )
    return urls


def _enum_label(enum_class, code) -> str:
    try:
        return enum_class(code).label
    except ValueError:
        return str(code)


def home_url_for(user) -> str:
    if user.is_authenticated and user.is_staff:
        return url_for("registry.students")
    return url_for("guardians.home")


def redirect_home():
    return redirect(home_url_for(current_user))
