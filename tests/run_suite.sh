#!/usr/bin/env bash
# The linters (ruff, mypy: configured in pyproject.toml), then the whole suite:
# SQLite always; PostgreSQL too when the server binaries are on this machine
# (a throwaway cluster on a loopback port, stopped afterwards).
# Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
status=0
# In CI nothing may skip for want of a server, a terminal or sshd.
if [ "${CI:-}" = "true" ]; then export ESIMDESK_REQUIRE_E2E=1; fi

echo "== lint: ruff check, ruff format --check, mypy (strict on app/ and models/) =="
.venv/bin/ruff check . || status=1
.venv/bin/ruff format --check --quiet . || { echo "ruff format: run \`.venv/bin/ruff format .\`" >&2; status=1; }
.venv/bin/mypy || status=1

echo "== suite on SQLite =="
"$PY" -m pytest -n 2 --dist loadfile "$@"
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 5 ] && status=$rc

if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
  echo "== suite on PostgreSQL =="
  url=$(bash tests/pg_cluster.sh start) || { echo "could not start PostgreSQL" >&2; exit 1; }
  trap 'bash tests/pg_cluster.sh stop >/dev/null 2>&1' EXIT
  # every test that runs on a desk, now on a fresh PostgreSQL database each
  ESIMDESK_TEST_ENGINE=pg ESIMDESK_TEST_PG="$url" ESIMDESK_REQUIRE_PG=1 "$PY" -m pytest -n 2 --dist loadfile "$@"
  rc=$?
  [ $rc -ne 0 ] && [ $rc -ne 5 ] && status=$rc
else
  echo "PostgreSQL server binaries not found: PostgreSQL tests not run" >&2
  [ "${CI:-}" = "true" ] && status=1
fi
exit $status
