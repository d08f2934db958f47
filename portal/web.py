"""Wiring shared by every page and endpoint: extensions, the one commit, errors, headers."""

from __future__ import annotations

import logging

from flask import Flask, flash, g, has_request_context, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from portal.config import ROOT
from portal.database import configure_sqlite
from portal.errors import DomainError
from portal.extensions import babel, csrf, db, limiter, login_manager, migrate

LANGUAGES = {"zh_Hans": "中文", "en": "English"}
LANGUAGE_COOKIE = "lang"

# No third-party host, no inline script: everything the pages need is served from here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def select_locale() -> str:
    if not has_request_context():
        return "zh_Hans"  # CLI and background work speak the default language
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in LANGUAGES else "zh_Hans"


def init_extensions(app: Flask) -> None:
    from portal import models  # noqa: F401  (every table must be known to Alembic)
    from portal.logging_filters import install_log_scrubber

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
    # Batch mode lets later migrations alter tables on SQLite too.
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.sign_in"
    login_manager.login_message = _l("Please sign in first.")
    # "basic", not "strong": strong ties the session to the IP address, and a phone moving
    # between Wi-Fi and mobile data would be signed out on every switch.
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    install_log_scrubber(logging.getLogger())

    @login_manager.user_loader
    def load_user(session_id: str):
        from portal.accounts.models import User
        from portal.accounts.service import note_activity

        user_id, _, token = session_id.partition(":")
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        if user is None or token != user.session_token:
            return None
        note_activity(user)
        return user


def register_blueprints(app: Flask) -> None:
    from api import blueprint as api_blueprint
    from portal.accounts.views import blueprint as accounts
    from portal.guardians.views import blueprint as guardians
    from portal.provinces.views import blueprint as provinces
    from portal.registry.views import blueprint as registry

    for blueprint in (accounts, guardians, registry, provinces):
        app.register_blueprint(blueprint)
    app.register_blueprint(api_blueprint, url_prefix="/api/v1")


def register_request_hooks(app: Flask) -> None:
    @app.after_request
    def commit_or_roll_back(response):
        """One commit per request: a success commits, anything else changes nothing."""
        if response.status_code < 400 or g.get("keep_bookkeeping"):
            db.session.commit()
        else:
            db.session.rollback()
        return response

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(self)")
        if app.config["SESSION_COOKIE_SECURE"]:  # served over HTTPS: keep it that way
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if current_user.is_authenticated:
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        """Only reached where a view did not handle the error itself."""
        g.keep_bookkeeping = error.keep_bookkeeping
        return _error_response(error.status, error.code, error.message)

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError):
        message = _l("This form has expired. Please go back, reload the page and try again.")
        return _error_response(400, "request.csrf_failed", message)

    for status, code, message in (
        (403, "request.forbidden", _l("You may not do this.")),
        (404, "request.not_found", _l("This page does not exist.")),
        (405, "request.method_not_allowed", _l("This action is not available here.")),
        (413, "request.too_large", _l("The upload is too large.")),
        (429, "request.too_many", _l("Too many attempts. Please wait a minute and try again.")),
    ):
        app.register_error_handler(status, _http_error_handler(status, code, message))


def _http_error_handler(status: int, code: str, message):
    return lambda _error: _error_response(status, code, message)


def _error_response(status: int, code: str, message):
    """problem+json for the API (also for URLs under it that matched no route), a page otherwise."""
    from api.errors import problem_response

    if request.blueprint == "api" or request.path.startswith("/api/"):
        return problem_response(status, code, str(message))
    return render_template("error.html", message=message, code=code), status


def render_form_error(template: str, error: DomainError, **context):
    """Re-show a form with the refusal in the user's language; nothing was saved."""
    g.keep_bookkeeping = error.keep_bookkeeping
    flash(error.message, "error")
    return render_template(template, error_code=error.code, **context), error.status


def register_template_helpers(app: Flask) -> None:
    from portal.approvals.kinds import case_kind_label, step_role_label
    from portal.guardians.models import Relation
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
    )

    @app.context_processor
    def page_globals():
        locale = get_locale()
        return {
            "languages": LANGUAGES,
            "current_language": str(locale) if locale else "zh_Hans",
            "html_lang": "en" if locale and locale.language == "en" else "zh-Hans",
        }


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
