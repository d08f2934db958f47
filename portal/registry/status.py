"""The registry status state machine (DOMAIN §3, M-11 … M-21).

The table below is the whole truth about which status may follow which;
`check_transition` is the one place that consults it.
"""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l

from portal.errors import Conflict


class Status(enum.StrEnum):
    ATTENDING = "attending"  # 在读
    SUSPENDED = "suspended"  # 休学
    TRANSFERRING = "transferring"  # 转学中: still enrolled at the sending school
    GRADUATED = "graduated"  # 毕业
    COMPLETED = "completed"  # 结业
    LEFT_UNCOMPLETED = "left_uncompleted"  # 肄业
    WITHDRAWN = "withdrawn"  # 退学, senior high only (M-18)
    ABROAD = "abroad"  # 出境 (M-20)
    DEREGISTERED = "deregistered"  # 注销, death (M-21)
    SPECIAL_PLACEMENT = "special_placement"  # record stays at the original school (M-11)

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])

    @property
    def is_final(self) -> bool:
        return not ALLOWED_TRANSITIONS[self]


STATUS_LABELS = {
    Status.ATTENDING: _l("Attending"),
    Status.SUSPENDED: _l("Suspended"),
    Status.TRANSFERRING: _l("Transfer in progress"),
    Status.GRADUATED: _l("Graduated"),
    Status.COMPLETED: _l("Completed"),
    Status.LEFT_UNCOMPLETED: _l("Left without completing"),
    Status.WITHDRAWN: _l("Withdrawn"),
    Status.ABROAD: _l("Abroad"),
    Status.DEREGISTERED: _l("Deregistered"),
    Status.SPECIAL_PLACEMENT: _l("Special school placement"),
}

_S = Status
ALLOWED_TRANSITIONS: dict[Status, frozenset[Status]] = {
    _S.ATTENDING: frozenset(
        {
            _S.SUSPENDED,
            _S.TRANSFERRING,
            _S.GRADUATED,
            _S.COMPLETED,
            _S.LEFT_UNCOMPLETED,
            _S.WITHDRAWN,
            _S.ABROAD,
            _S.DEREGISTERED,
            _S.SPECIAL_PLACEMENT,
        }
    ),
    _S.SUSPENDED: frozenset({_S.ATTENDING, _S.WITHDRAWN, _S.ABROAD, _S.DEREGISTERED}),
    # A transfer ends with the student attending (at the new school, or back at the old one).
    _S.TRANSFERRING: frozenset({_S.ATTENDING, _S.DEREGISTERED}),
    _S.ABROAD: frozenset({_S.ATTENDING, _S.DEREGISTERED}),
    _S.SPECIAL_PLACEMENT: frozenset(
        {
            _S.ATTENDING,
            _S.GRADUATED,
            _S.COMPLETED,
            _S.LEFT_UNCOMPLETED,
            _S.DEREGISTERED,
        }
    ),
    _S.GRADUATED: frozenset(),
    _S.COMPLETED: frozenset(),
    _S.LEFT_UNCOMPLETED: frozenset(),
    _S.WITHDRAWN: frozenset(),
    _S.DEREGISTERED: frozenset(),
}

FIRST_SENIOR_HIGH_GRADE = 10  # grades 1–9 are compulsory education (义务教育)


def check_transition(current: Status, target: Status, *, grade: int) -> None:
    """Refuse a move the rules do not allow, with a stable code."""
    if target not in ALLOWED_TRANSITIONS[current]:
        raise Conflict(
            "status.illegal_transition",
            _l("A record that is “%(current)s” cannot become “%(target)s”."),
            current=current.label,
            target=target.label,
        )
    if target == Status.WITHDRAWN and grade < FIRST_SENIOR_HIGH_GRADE:
        # M-18: 义务教育阶段学生不予办理退学手续
        raise Conflict(
            "status.withdrawal_in_compulsory_education",
            _l("Students in compulsory education (grades 1–9) cannot withdraw."),
        )
