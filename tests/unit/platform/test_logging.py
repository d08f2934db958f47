"""ID numbers, mobile numbers and searched names never reach the logs."""

import logging

from portal.logging_filters import ScrubSensitiveNumbers, scrub
from portal.registry.documents import Gender
from portal.registry.synthetic import make_resident_id


def test_id_and_mobile_numbers_are_redacted():
    number = make_resident_id("340102", __import__("datetime").date(2015, 5, 1), 21, Gender.MALE)
    line = f"lookup G{number} by 13912345678 and {number}"
    assert scrub(line) == "lookup [redacted] by [redacted] and [redacted]"


def test_search_terms_in_request_lines_are_redacted():
    line = '"GET /staff/students?q=%E5%88%98&page=2 HTTP/1.1" 200'
    assert scrub(line) == '"GET /staff/students?q=[redacted]&page=2 HTTP/1.1" 200'


def test_the_filter_rewrites_formatted_records():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "mobile %s", ("13800138000",), None)
    ScrubSensitiveNumbers().filter(record)
    assert record.getMessage() == "mobile [redacted]"


def test_ordinary_numbers_survive():
    assert scrub("took 1234 ms for 20 rows") == "took 1234 ms for 20 rows"


def test_gunicorn_access_lines_never_carry_query_strings():
    import runpy
    from pathlib import Path

    config = runpy.run_path(str(Path(__file__).resolve().parents[3] / "gunicorn.conf.py"))
    fmt = config["access_log_format"]
    # %(r)s is the whole request line, %(q)s the query string, %(f)s the referer (may hold one).
    assert "%(U)s" in fmt
    assert not any(token in fmt for token in ("%(r)s", "%(q)s", "%(f)s"))


def test_numbers_written_the_way_people_write_them_are_redacted():
    for written in (
        "+8613800138000",
        "+86 138 0013 8000",
        "138 0013 8000",
        "138-0013-8000",
        "E12345678",
        "H1234567890",
        "USA150701123456",
    ):
        assert scrub(f"value {written} end") == "value [redacted] end", written


def test_numbers_glued_to_letters_are_redacted():
    number = make_resident_id("340102", __import__("datetime").date(2015, 5, 1), 21, Gender.MALE)
    for glued in (f"id{number}abc", f"/students/x{number}", "tel13800138000ok", f"{number}&q"):
        assert "[redacted]" in scrub(glued) and number not in scrub(glued), glued
    assert "13800138000" not in scrub("mobile=13800138000abc")


def test_incident_ids_survive_the_scrubber():
    """An incident id is quoted by the person and searched for in the log: it must stay there."""
    for digits in ("E123-4567", "AB12-3456", "1380-0138"):
        assert scrub(f"incident {digits}: boom") == f"incident {digits}: boom"
