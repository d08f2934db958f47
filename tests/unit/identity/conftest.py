"""A signing key, a family with an attending child, and a way to verify as the portal does."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.identity.keys import create_key
from portal.identity.verification import Channel, verify
from portal.identity.verifier import PUBLIC_AUDIENCE
from tests.factories import make_guardian, make_student, make_tree, registrar_for


@pytest.fixture
def signing_key(app):
    return create_key(activate_now=True)


@pytest.fixture
def family(app, signing_key):
    tree = make_tree()
    registrar = registrar_for(tree)
    guardian = make_guardian(name="陈家长")
    child = make_student(tree.school, registrar, name="陈小雨")
    db.session.add(GuardianLink(guardian_id=guardian.id, student_id=child.id, relation=Relation.MOTHER))
    db.session.flush()
    return {"tree": tree, "registrar": registrar, "guardian": guardian, "child": child}


@pytest.fixture
def check(app):
    """The portal's online verdict on a token."""

    def verdict(token: str, audience: str = PUBLIC_AUDIENCE, **options):
        return verify(token, audience=audience, channel=Channel.API, **options)

    return verdict
