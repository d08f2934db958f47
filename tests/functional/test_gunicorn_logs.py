"""gunicorn's own error log goes through the scrubber: a malformed request line is not logged raw."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from portal.registry.documents import Gender
from portal.registry.synthetic import make_resident_id

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _send(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:  # a loaded CI box
        connection.sendall(raw)
        return connection.recv(4096)


def test_a_malformed_request_line_with_an_id_number_is_scrubbed_in_gunicorns_error_log(tmp_path):
    number = make_resident_id("340102", date(2015, 5, 1), 21, Gender.MALE)
    port = _free_port()
    env = {
        **os.environ,
        "PORTAL_ENV": "development",
        "PORTAL_INSTANCE_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
    }
    log_file = tmp_path / "error.log"
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--error-logfile",
            str(log_file),
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        # A space inside the path: gunicorn refuses the line and logs its tail verbatim,
        # here a number glued to letters.
        answer = _send(port, f"GET /staff/students?q=a id{number}x HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 400")
        deadline = time.monotonic() + 30
        while "Invalid request" not in log_file.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=10)
    logged = log_file.read_text()
    assert "Invalid request" in logged and "[redacted]" in logged
    assert number not in logged and number[:17] not in logged
