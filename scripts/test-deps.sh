#!/usr/bin/env bash
# Installs what the test suite needs besides Rust into a virtualenv at .venv in the repo root:
#   - moto (server mode): a local fake of DynamoDB and EventBridge Scheduler for the AWS adapters
#   - aiosmtpd: a local SMTP sink for the e-mail provider tests
#   - cfn-lint: template.yaml is linted (with the SAM transform) by tests/tests/template_parity.rs
#   - aws-sam-cli, in its own virtualenv .venv-sam (its pins differ from moto's): `sam validate
#     --lint` in the same test
#   - schemathesis, in its own virtualenv .venv-schemathesis: the API against its OpenAPI document
#     (tests/tests/api_conformance.rs, `make soak`)
#   - Apache Superset, in its own virtualenv .venv-superset with its metadata database made once:
#     the report-source tests read a real Superset
#   - Debian's chromium and chromium-driver (apt): the console's browser tests; wrk (apt): load
#
# Idempotent: the pip step is skipped while .venv/.deps-ok is newer than this script
# (edit the pins below and the next run reinstalls). Needs no stdin; works as root.
set -euo pipefail

# Pins: keep in step with what CI installs. moto 5.2.x is what the adapters are tested against.
MOTO_VERSION="5.2.1"
AIOSMTPD_VERSION="1.4.6"
CFN_LINT_VERSION="1.58.0"
SAM_CLI_VERSION="1.170.0"
SCHEMATHESIS_VERSION="4.32.5"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.deps-ok"
SCRIPT="$ROOT/scripts/test-deps.sh"

log() { printf 'test-deps: %s\n' "$*" >&2; }

venv_ok() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys, pip' >/dev/null 2>&1
}

pick_python() {
    # Prefer python3 on PATH (a pyenv CPython 3.11 on the dev/CI machines), then Debian's.
    local candidate
    for candidate in "${PYTHON:-}" python3 /usr/bin/python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

apt_install() {
    log "installing Debian packages: $*"
    export DEBIAN_FRONTEND=noninteractive
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    $sudo apt-get update -qq </dev/null
    $sudo apt-get install -y -qq --no-install-recommends "$@" </dev/null
}

create_venv() {
    local py
    rm -rf "$VENV"
    if py="$(pick_python)" && "$py" -m venv "$VENV" </dev/null; then
        log "created $VENV with $py ($("$py" --version 2>&1))"
        return 0
    fi
    # Debian's python3 ships without ensurepip/venv until python3-venv is installed.
    rm -rf "$VENV"
    log "'python3 -m venv' failed; installing python3-venv"
    apt_install python3 python3-venv python3-pip
    for py in "$(pick_python || true)" /usr/bin/python3; do
        [ -n "$py" ] || continue
        rm -rf "$VENV"
        if "$py" -m venv "$VENV" </dev/null; then
            log "created $VENV with $py ($("$py" --version 2>&1))"
            return 0
        fi
    done
    log "error: could not create a virtualenv at $VENV"
    exit 1
}

if ! venv_ok; then
    create_venv
    rm -f "$STAMP"
fi

# Chromium and ChromeDriver (Debian's) drive the console in tests/tests/console_browser.rs; wrk
# (Debian's) loads the API in the chaos soak (bench/tests/chaos.rs, make soak).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 \
    || ! command -v wrk >/dev/null 2>&1; then
    apt_install chromium chromium-driver wrk
fi

# A tool with pins of its own in its own virtualenv, reinstalled when its version differs.
tool_venv() {
    local venv="$1" bin="$2" package="$3" version="$4"
    if [ -x "$venv/bin/$bin" ] && "$venv/bin/$bin" --version 2>/dev/null | grep -q " $version\$"; then
        return 0
    fi
    log "installing $package==$version into $venv"
    rm -rf "$venv"
    "$(pick_python)" -m venv "$venv" </dev/null
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
        "$venv/bin/python" -m pip install --quiet "$package==$version" </dev/null
}
tool_venv "$ROOT/.venv-sam" sam aws-sam-cli "$SAM_CLI_VERSION"
tool_venv "$ROOT/.venv-schemathesis" schemathesis schemathesis "$SCHEMATHESIS_VERSION"

# Apache Superset in its own virtualenv, for the report-source tests (tests/tests/report_sources.rs):
# 6.1.0 also needs cachetools, flask-caching<2.4 and rich (../shared/superset-notes.md). Its metadata
# database is made once here (~1 min: migrations, the admin user, roles) into .venv-superset/home;
# each test copies it and starts its own server on 127.0.0.1.
SUPERSET_VERSION="6.1.0"
SUPERSET_VENV="$ROOT/.venv-superset"
SUPERSET_STAMP="$SUPERSET_VENV/.superset-$SUPERSET_VERSION-ok"
if [ ! -f "$SUPERSET_STAMP" ] || [ "$SCRIPT" -nt "$SUPERSET_STAMP" ]; then
    log "installing apache-superset==$SUPERSET_VERSION into $SUPERSET_VENV"
    rm -rf "$SUPERSET_VENV"
    "$(pick_python)" -m venv "$SUPERSET_VENV" </dev/null
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 "$SUPERSET_VENV/bin/python" -m pip install --quiet \
        "apache-superset==$SUPERSET_VERSION" cachetools "flask-caching<2.4" rich </dev/null
    mkdir -p "$SUPERSET_VENV/home"
    (
        export SUPERSET_HOME="$SUPERSET_VENV/home" SUPERSET_CONFIG_PATH="$ROOT/scripts/superset_config.py" FLASK_APP=superset
        "$SUPERSET_VENV/bin/superset" db upgrade >/dev/null 2>&1 </dev/null
        "$SUPERSET_VENV/bin/superset" fab create-admin --username admin --password herald-admin-pw \
            --firstname Herald --lastname Test --email admin@example.com >/dev/null 2>&1 </dev/null
        "$SUPERSET_VENV/bin/superset" init >/dev/null 2>&1 </dev/null
    )
    [ -s "$SUPERSET_VENV/home/superset.db" ] || { log "error: Superset's metadata database was not made"; exit 1; }
    touch "$SUPERSET_STAMP"
fi

if [ -f "$STAMP" ] && [ "$STAMP" -nt "$SCRIPT" ] && [ -x "$VENV/bin/moto_server" ]; then
    log "up to date ($STAMP)"
    exit 0
fi

log "installing moto[server]==$MOTO_VERSION aiosmtpd==$AIOSMTPD_VERSION cfn-lint==$CFN_LINT_VERSION into $VENV"
PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
    "$VENV/bin/python" -m pip install --quiet \
    "moto[server]==$MOTO_VERSION" "aiosmtpd==$AIOSMTPD_VERSION" "cfn-lint==$CFN_LINT_VERSION" </dev/null

# Smoke check: both import and the server entry point exists.
"$VENV/bin/python" -c 'import moto, aiosmtpd; print("test-deps: moto", moto.__version__)' >&2
[ -x "$VENV/bin/moto_server" ] || { log "error: $VENV/bin/moto_server missing after install"; exit 1; }
[ -x "$VENV/bin/cfn-lint" ] || { log "error: $VENV/bin/cfn-lint missing after install"; exit 1; }

touch "$STAMP"
log "ok"
