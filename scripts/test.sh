#!/usr/bin/env bash
# The whole suite: ruff, then pytest on SQLite, then pytest on PostgreSQL.
# Under CI (CI=true) PostgreSQL and Chromium are required; elsewhere their absence is loud.
set -euo pipefail
BIN=${BIN:-.venv/bin}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
PG_TEST_URL=${PG_TEST_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/xueji_test}

echo "== ruff"
"$BIN/ruff" check .
"$BIN/ruff" format --check .
echo "== migrations, templates and translations are checked inside the suite"

echo "== pytest on SQLite"
env -u TEST_DATABASE_URL "$BIN/python" -m pytest "$@"

if "$BIN/python" scripts/ensure_database.py "$PG_ADMIN_URL" "${PG_TEST_URL##*/}"; then
  echo "== pytest on PostgreSQL"
  TEST_DATABASE_URL="$PG_TEST_URL" "$BIN/python" -m pytest "$@"
elif [[ "${CI:-}" == "true" ]]; then
  echo "!! PostgreSQL is not reachable and CI requires it" >&2
  exit 1
else
  echo "!! PostgreSQL is not reachable at $PG_ADMIN_URL: the PostgreSQL run was SKIPPED" >&2
fi
