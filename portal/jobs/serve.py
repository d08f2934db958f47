"""`flask portal serve`: gunicorn and the job consumer side by side, stopped together."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CONSUMER = "portal.jobs.worker.huey"


def serve(port: int) -> int:
    """Run both until either exits or Ctrl-C/SIGTERM arrives; then stop the other."""
    # Set both explicitly: a process started in the background inherits SIGINT ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    children: list[subprocess.Popen] = []
    try:
        children.append(subprocess.Popen([str(BIN / "huey_consumer"), CONSUMER, "--workers", "2"]))
        children.append(
            subprocess.Popen(
                [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2"]
                + ["--access-logfile", "-", "wsgi:app"]
            )
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    # A second Ctrl-C must not abandon the children half-stopped.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    # Stopped by us (negative: by signal) is a clean stop; a child that failed on its own is not.
    return max((child.returncode for child in children if child.returncode > 0), default=0)


def _interrupt(*_args) -> None:
    raise KeyboardInterrupt
