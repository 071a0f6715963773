#!/usr/bin/env bash
# make bench: Herald's delivery figures next to the provider minimum and Apprise 2.2.0, in one run
# against the same fake providers on loopback. Output: stdout, target/bench/delivery.{md,json}.
# Knobs (env): HERALD_BENCH_USERS (10000), HERALD_BENCH_MAILS (10000), HERALD_BENCH_SMTP_CONCURRENCY (16),
# HERALD_BENCH_FEISHU_MESSAGES (500), HERALD_BENCH_REPS (5), HERALD_BENCH_ROBOT_WINDOW_MS (2000),
# HERALD_BENCH_ROBOT_MESSAGES (80), HERALD_BENCH_ENGINE_MAILS (1000), HERALD_BENCH_APPRISE_MAIL_SAMPLE (500),
# HERALD_BENCH_APPRISE_THROTTLED_SAMPLE (5), HERALD_BENCH_LEDGER_SIZES (1000,4000,10000), HERALD_BENCH_KILLS (5),
# HERALD_BENCH_KILL_MAILS (10000), HERALD_BENCH_FEISHU_PUSH_USERS (1500),
# HERALD_BENCH_ONLY (subset: wecom,smtp,feishu,robot,apprise,tickets,ledger,quotas).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
VENV=${VENV:-.venv}
APPRISE_VERSION=2.2.0

if [ ! -x "$VENV/bin/python" ]; then
	python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import apprise, sys; sys.exit(apprise.__version__ != '$APPRISE_VERSION')" 2>/dev/null; then
	echo "installing apprise==$APPRISE_VERSION into $VENV" >&2
	"$VENV/bin/pip" install --quiet --no-input "apprise==$APPRISE_VERSION" </dev/null
fi

"$CARGO" build --release -p herald-bench -p herald-local
mkdir -p target/bench
HERALD_BENCH_PYTHON="$VENV/bin/python" target/release/herald-bench
# Push runs (issue 4): 50 charts of 200 ms each, concurrent vs one by one, and memory with 10 MB charts.
"$CARGO" bench -p herald-charts --bench chart_checks
# Report sources (issue 24): a 12-chart page from a signed-in source beside public URLs.
"$CARGO" bench -p herald-charts --bench source_login
# Report content (issue 8): a chart picture and a 12-chart page snapshot, next to the chart reads.
"$CARGO" bench -p herald-pictures --bench rendering
# Attachments (issue 27): an xlsx of 10 charts × 10,000 rows, beside the same rows as CSV.
"$CARGO" bench -p herald-sheets --bench attachments
