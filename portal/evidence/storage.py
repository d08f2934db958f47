"""Where evidence bytes live: the one module that touches them.

On disk under EVIDENCE_DIR (default: the instance folder's `evidence/`), content-addressed:
`ab/cd/abcd…` by sha256, written atomically (temporary file, then rename). The folder is
never served by the web server; `evidence.show` reads through `read_bytes` after a
permission check.

A file is written when an upload is accepted, inside the request's transaction. If that
transaction rolls back (the request was refused after the upload), the files it created
are removed again: a refused request leaves nothing stored, no row and no file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

_CREATED = "evidence_files_created"


def root() -> Path:
    return Path(current_app.config["EVIDENCE_DIR"])


def path_for(sha256: str) -> Path:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a sha256 hex digest")
    return root() / sha256[:2] / sha256[2:4] / sha256


def put(data: bytes, session: Session) -> str:
    """Store `data` (if not stored already) and return its sha256."""
    digest = hashlib.sha256(data).hexdigest()
    target = path_for(digest)
    if target.exists():
        return digest
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o640)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    session.info.setdefault(_CREATED, []).append(target)
    return digest


def read_bytes(sha256: str) -> bytes:
    return path_for(sha256).read_bytes()


def exists(sha256: str) -> bool:
    return path_for(sha256).exists()


@event.listens_for(Session, "after_commit")
def _keep_created_files(session: Session) -> None:
    session.info.pop(_CREATED, None)


@event.listens_for(Session, "after_soft_rollback")
def _remove_created_files(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is not None:  # a savepoint: the outer transaction decides
        return
    for path in session.info.pop(_CREATED, []):
        Path(path).unlink(missing_ok=True)
