"""A page finds its translations once, however many strings and rows it translates."""

from __future__ import annotations

import flask_babel
import pytest

from portal.accounts.models import Role
from portal.extensions import db
from tests.factories import make_staff, make_student, make_tree
from tests.functional.conftest import sign_in


@pytest.fixture
def twenty_five(app):
    tree = make_tree()
    registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school, "i18n.registrar")
    for _ in range(25):
        make_student(tree.school, registrar)
    db.session.commit()


@pytest.mark.parametrize("language", ["zh_Hans", "en"])
def test_a_search_page_looks_its_translations_up_once(client, twenty_five, monkeypatch, language):
    sign_in(client, "i18n.registrar")
    client.set_cookie("lang", language)
    lookups = []
    original = flask_babel.Domain.get_translations

    def counted(self):
        lookups.append(1)
        return original(self)

    monkeypatch.setattr(flask_babel.Domain, "get_translations", counted)
    page = client.get("/staff/students").get_data(as_text=True)
    assert page.count('href="/staff/students/') == 20
    assert ("姓名" in page) == (language == "zh_Hans")  # translated, in the chosen language
    assert len(lookups) == 1
