#!/usr/bin/env bash
# The kiosk's two commands:
#   ./run.sh        create .venv if needed, install requirements, initialise the data folder, serve
#   ./run.sh test   install what the tests need (Chromium, PostgreSQL, Redis, nginx, LibreOffice, where apt is
#                   available) and run the suite twice: on SQLite, then on PostgreSQL
# Anything else is passed to the kiosk's command line: ./run.sh pins --reset, ./run.sh init, ...
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
if [ -x "$VENV/Scripts/python.exe" ]; then PY="$VENV/Scripts/python.exe"; else PY="$VENV/bin/python"; fi

find_python() {
  for candidate in ${PYTHON:-} python3.13 python3.12 python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "Cần Python 3.11 trở lên (Python 3.11+ is required)." >&2
  return 1
}

# Install a requirements file only when it changed since the last install (a second start is fast).
install_requirements() {
  local file=$1 stamp="$VENV/.installed-$(basename "$1")"
  if [ ! -f "$stamp" ] || ! cmp -s "$file" "$stamp"; then
    echo "Đang cài thư viện từ $file ..."
    "$PY" -m pip install --disable-pip-version-check -q -r "$file"
    cp "$file" "$stamp"
  fi
}

ensure_venv() {
  if [ ! -x "$PY" ]; then
    local base; base=$(find_python)
    echo "Tạo môi trường Python .venv ..."
    "$base" -m venv "$VENV"
    if [ -x "$VENV/Scripts/python.exe" ]; then PY="$VENV/Scripts/python.exe"; else PY="$VENV/bin/python"; fi
  fi
  install_requirements requirements.txt
}

# The programs the tests drive, each with the Debian package that brings it: a real browser, a private
# PostgreSQL server (the suite's second pass, and several kiosk processes on one database), Redis (their
# message queue), nginx (the reverse proxy in front of them), LibreOffice (opens what we export).
have_chromium() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }
have_postgres() { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
have_redis() { command -v redis-server >/dev/null 2>&1; }
have_nginx() { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; }
have_libreoffice() { command -v soffice >/dev/null 2>&1 || command -v libreoffice >/dev/null 2>&1; }

ensure_test_programs() {
  local missing=() lean=()
  have_chromium || missing+=(chromium)
  have_postgres || missing+=(postgresql)
  have_redis || missing+=(redis-server)
  have_nginx || missing+=(nginx-light)
  # Calc without its desktop parts and recommendations: enough to open and convert a workbook headless.
  have_libreoffice || lean+=(libreoffice-calc-nogui)
  [ ${#missing[@]} -eq 0 ] && [ ${#lean[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Đang cài ${missing[*]} ${lean[*]} (apt) cho các kiểm thử ..."
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    if [ ${#missing[@]} -gt 0 ]; then
      # The packages' own services are not started (policy-rc.d): the tests run private servers on free ports.
      local policy=""
      if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy=made
      fi
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
      if [ -n "$policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
    fi
    if [ ${#lean[@]} -gt 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${lean[@]}" >/dev/null
    fi
  else
    echo "Chưa cài ${missing[*]} ${lean[*]} và không thể tự cài (cần quyền root và apt): các kiểm thử cần chúng sẽ bị bỏ qua." >&2
  fi
}

case "${1:-serve}" in
  test)
    shift
    ensure_venv
    install_requirements requirements-test.txt
    ensure_test_programs
    # Under CI every test must run; locally those needing a missing program are skipped with a clear message.
    if [ "${CI:-}" = "true" ]; then
      export KIOSK_REQUIRE_BROWSER=1 KIOSK_REQUIRE_POSTGRES=1 KIOSK_REQUIRE_LIBREOFFICE=1 \
             KIOSK_REQUIRE_REDIS=1 KIOSK_REQUIRE_NGINX=1
    fi
    # The whole suite twice: on SQLite (the laptop's default), then on a private PostgreSQL server, with the
    # tests of several processes behind nginx on PostgreSQL and Redis. Both passes run; either failing fails.
    echo "== Lượt 1/2: SQLite =="
    sqlite_status=0
    "$PY" -m pytest -m "not processes" "$@" || sqlite_status=$?
    echo "== Lượt 2/2: PostgreSQL (và nhiều tiến trình sau nginx, Redis) =="
    postgres_status=0
    KIOSK_TEST_DATABASE=postgresql "$PY" -m pytest "$@" || postgres_status=$?
    echo "Kết quả: SQLite $([ $sqlite_status -eq 0 ] && echo đạt || echo "LỖI ($sqlite_status)"), PostgreSQL $([ $postgres_status -eq 0 ] && echo đạt || echo "LỖI ($postgres_status)")"
    [ $sqlite_status -eq 0 ] && [ $postgres_status -eq 0 ]
    ;;
  serve)
    [ $# -gt 0 ] && shift
    ensure_venv
    # glibc gives every thread its own memory arena; two keep a hundred screens' threads well under 150 MB.
    export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
    exec "$PY" -m kiosk serve "$@"
    ;;
  *)
    ensure_venv
    exec "$PY" -m kiosk "$@"
    ;;
esac
