"""Every allowed and every refused status transition, from the one table."""

from itertools import product

import pytest

from portal.errors import Conflict
from portal.registry.status import (
    ALLOWED_TRANSITIONS,
    FIRST_SENIOR_HIGH_GRADE,
    Status,
    check_transition,
)

ALLOWED = [(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets]
REFUSED = [(a, b) for a, b in product(Status, Status) if b not in ALLOWED_TRANSITIONS[a]]


def test_every_status_has_a_row():
    assert set(ALLOWED_TRANSITIONS) == set(Status)


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_allowed_transitions_pass_for_a_senior_student(current, target):
    check_transition(current, target, grade=FIRST_SENIOR_HIGH_GRADE)


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_refused_transitions_carry_a_stable_code(current, target):
    with pytest.raises(Conflict) as refused:
        check_transition(current, target, grade=FIRST_SENIOR_HIGH_GRADE)
    assert refused.value.code == "status.illegal_transition"


@pytest.mark.parametrize("grade", range(1, FIRST_SENIOR_HIGH_GRADE))
@pytest.mark.parametrize("current", [Status.ATTENDING, Status.SUSPENDED])
def test_compulsory_education_students_cannot_withdraw(current, grade):
    with pytest.raises(Conflict) as refused:
        check_transition(current, Status.WITHDRAWN, grade=grade)
    assert refused.value.code == "status.withdrawal_in_compulsory_education"


def test_final_statuses_allow_nothing():
    finals = {s for s in Status if s.is_final}
    assert finals == {
        Status.GRADUATED,
        Status.COMPLETED,
        Status.LEFT_UNCOMPLETED,
        Status.WITHDRAWN,
        Status.DEREGISTERED,
    }


def test_a_transfer_in_flight_cannot_be_suspended_or_withdrawn():
    for target in (Status.SUSPENDED, Status.WITHDRAWN, Status.ABROAD):
        with pytest.raises(Conflict):
            check_transition(Status.TRANSFERRING, target, grade=11)
