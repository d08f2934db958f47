"""Templates are compiled once per language, with `_('a fixed text')` already translated,
and answer exactly what the render-time translation answered."""

from __future__ import annotations

import pytest
from flask import render_template, render_template_string
from flask_babel import force_locale, gettext, refresh
from markupsafe import Markup

from portal.extensions import babel


def _in(app, language: str):
    context = app.test_request_context("/", headers={"Cookie": f"lang={language}"})
    context.push()
    refresh()  # the test's app context outlives the request: forget its locale
    return context


@pytest.mark.parametrize(("language", "expected"), [("zh_Hans", "退出登录"), ("en", "Sign out")])
def test_a_fixed_text_is_compiled_as_its_translation(app, language, expected):
    context = _in(app, language)
    try:
        template = app.jinja_env.from_string("{{ _('Sign out') }}")
        # The compiled code holds the translation itself: no call is left to make.
        assert expected in app.jinja_env.compile("{{ _('Sign out') }}", raw=True)
        assert template.render() == expected == gettext("Sign out")
    finally:
        context.pop()


def test_each_language_has_its_own_compiled_template(app):
    rendered = {}
    for language in ("zh_Hans", "en", "zh_Hans"):
        context = _in(app, language)
        try:
            template = app.jinja_env.get_template("error.html")
            rendered.setdefault(language, set()).add(id(template))
            page = render_template("error.html", message="x", code="request.bad", incident=None)
            assert ('<html lang="en">' in page) == (language == "en")
            assert ("学籍服务门户" in page) == (language == "zh_Hans")
        finally:
            context.pop()
    assert len(rendered["zh_Hans"]) == 1  # compiled once, then found in the cache
    assert rendered["zh_Hans"] != rendered["en"]


def test_a_forced_language_is_compiled_apart_from_the_requests(app):
    context = _in(app, "zh_Hans")
    try:
        with force_locale("en"):
            page = render_template("error.html", message="x", code="c", incident=None)
            assert "Student Registry Service Portal" in page and "学籍服务门户" not in page
            english = app.jinja_env.get_template("error.html")
        chinese = app.jinja_env.get_template("error.html")
        assert english is not chinese
    finally:
        context.pop()


def test_it_escapes_and_formats_as_the_render_time_call_did(app):
    context = _in(app, "en")
    try:
        # Fixed texts come out marked safe, and `%%` is unescaped, as newstyle gettext does.
        assert render_template_string("{{ _('100%%') }}") == "100%"
        assert isinstance(render_template_string("{% set t = _('Sign out') %}{{ t }}"), str)
        # Filled-in values are still escaped at render time.
        assert render_template_string("{{ _('Back to %(place)s', place='<b>') }}") == "Back to &lt;b&gt;"
        # Not a translation call: an attribute of that name, a call with a variable.
        assert render_template_string("{{ x._('a') }}", x={"_": lambda s: s + "!"}) == "a!"
        assert render_template_string("{{ _(label) }}", label="Sign out") == "Sign out"
    finally:
        context.pop()


def test_every_fixed_text_in_every_template_matches_the_render_time_translation(app):
    """Compiled in each language, every template's `_('…')` texts are those `gettext` gives."""
    import re

    from portal.config import ROOT

    literal = re.compile(r"""\b_\('((?:[^'\\]|\\.)*)'\)""")
    texts = {
        match.group(1)
        for path in (ROOT / "templates").rglob("*.html")
        for match in literal.finditer(path.read_text())
    }
    assert len(texts) > 300
    for language in ("zh_Hans", "en"):
        context = _in(app, language)
        try:
            domain = babel.domain_instance
            for text in texts:
                compiled = app.jinja_env.from_string("{{ _(" + repr(text) + ") }}").render()
                runtime = Markup(domain.get_translations().ugettext(text)) % {}
                assert compiled == runtime, (language, text)
        finally:
            context.pop()
