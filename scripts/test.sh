#!/usr/bin/env bash
# The whole suite: ruff, then pytest on SQLite and on PostgreSQL (side by side).
# Under CI (CI=true) PostgreSQL and Chromium are required; elsewhere their absence is loud.
set -euo pipefail
BIN=${BIN:-.venv/bin}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
PG_TEST_URL=${PG_TEST_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/xueji_test}

echo "== ruff"
"$BIN/ruff" check .
"$BIN/ruff" format --check .
echo "== migrations, templates and translations are checked inside the suite"

# The two databases run side by side (a 2-core CI machine finishes in about half the time),
# each with its own temporary directory and Redis database; their output follows, in order.
LOGS=$(mktemp -d)
run_sqlite() {
  env -u TEST_DATABASE_URL "$BIN/python" -m pytest --basetemp="$LOGS/tmp-sqlite" "$@" >"$LOGS/sqlite.log" 2>&1
}
run_postgresql() {
  TEST_DATABASE_URL="$PG_TEST_URL" TEST_REDIS_URL="${PG_TEST_REDIS_URL:-redis://127.0.0.1:6379/3}" \
    "$BIN/python" -m pytest --basetemp="$LOGS/tmp-postgresql" "$@" >"$LOGS/postgresql.log" 2>&1
}

postgresql=skipped
if "$BIN/python" scripts/ensure_database.py "$PG_ADMIN_URL" "${PG_TEST_URL##*/}"; then
  postgresql=run
elif [[ "${CI:-}" == "true" ]]; then
  echo "!! PostgreSQL is not reachable and CI requires it" >&2
  exit 1
fi

echo "== pytest on SQLite and on PostgreSQL, side by side (PostgreSQL: $postgresql)"
run_sqlite "$@" & sqlite_pid=$!
if [[ $postgresql == run ]]; then run_postgresql "$@" & postgresql_pid=$!; fi

status=0
wait "$sqlite_pid" || status=1
echo "== pytest on SQLite"
cat "$LOGS/sqlite.log"
if [[ $postgresql == run ]]; then
  wait "$postgresql_pid" || status=1
  echo "== pytest on PostgreSQL"
  cat "$LOGS/postgresql.log"
else
  echo "!! PostgreSQL is not reachable at $PG_ADMIN_URL: the PostgreSQL run was SKIPPED" >&2
fi
rm -rf "$LOGS"
exit "$status"
