"""`flask portal serve` (what `make run` starts): the portal and the job consumer, stopped together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from flask_migrate import upgrade

from portal import create_app
from portal.config import ROOT, config_for_tests
from portal.extensions import db
from tests.smtp import free_port


def _children(pid: int) -> dict[int, str]:
    """Child process ids and their command lines (Linux /proc)."""
    pids = [
        int(c)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for c in (task / "children").read_text().split()
    ]
    return {
        child: Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode() for child in pids
    }


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_serve_runs_gunicorn_and_the_consumer_and_ctrl_c_stops_both(tmp_path):
    database = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    app = create_app(config_for_tests(database))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    port = free_port()
    env = {
        **os.environ,
        "PORTAL_ENV": "development",
        "FLASK_APP": "wsgi",
        "DATABASE_URL": database,
        "PORTAL_INSTANCE_DIR": str(tmp_path),
        "JOBS_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
    }
    flask = str(Path(sys.executable).parent / "flask")
    server = subprocess.Popen(
        [flask, "portal", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        status, deadline = None, time.monotonic() + 90  # a loaded 2-core CI box starts gunicorn slowly
        while status is None and time.monotonic() < deadline:
            try:
                status = urllib.request.urlopen(f"http://127.0.0.1:{port}/sign-in", timeout=2).status
            except OSError:
                time.sleep(0.2)
        assert status == 200
        children = _children(server.pid)
        assert any("huey_consumer portal.jobs.worker.huey" in cmd for cmd in children.values()), children
        assert any("gunicorn" in cmd for cmd in children.values()), children

        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in children)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
