#!/usr/bin/env bash
# make soak: the long runs of the reliability suite (make test runs each briefly).
#   1. schemathesis: every phase, thousands of cases, a random seed (HERALD_SCHEMATHESIS_EXAMPLES, 100)
#   2. cargo fuzz: each target for HERALD_FUZZ_SECONDS (600); a crash is copied to
#      fuzz/regressions/<target>/, where make test keeps running it
#   3. chaos and load: herald-local for HERALD_SOAK_SECONDS (600) at 50 ticket events/s plus pushes,
#      the fakes failing 20% of calls; then wrk against the API and the webhook
# Knobs: HERALD_SOAK_ONLY (subset: schemathesis,fuzz,chaos), HERALD_FUZZ_TARGETS (all).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
ONLY=${HERALD_SOAK_ONLY:-schemathesis,fuzz,chaos}
runs() { [[ ",$ONLY," == *",$1,"* ]]; }
mkdir -p target/soak

bash scripts/test-deps.sh
if runs schemathesis; then
	"$CARGO" build -p herald-local
	HERALD_SCHEMATHESIS_EXAMPLES=${HERALD_SCHEMATHESIS_EXAMPLES:-100} HERALD_SCHEMATHESIS_SEED=random \
		"$CARGO" test -p herald-tests --test api_conformance -- --nocapture 2>&1 | tee target/soak/schemathesis.log
fi

if runs fuzz; then
	command -v cargo-fuzz >/dev/null || "$CARGO" install --locked cargo-fuzz@0.13.2
	# Every target of the fuzz crate (shared/fuzz-checks' tests hold each to its check).
	targets=${HERALD_FUZZ_TARGETS:-$(basename -s .rs fuzz/fuzz_targets/*.rs)}
	: >target/soak/fuzz.log
	for target in $targets; do
		mkdir -p "fuzz/corpus/$target"
		cp -n fuzz/seeds/"$target"/* "fuzz/corpus/$target/" 2>/dev/null || true
		status=0
		(cd fuzz && cargo +nightly fuzz run "$target" "corpus/$target" -- \
			-max_total_time="${HERALD_FUZZ_SECONDS:-600}" -rss_limit_mb=2048 -print_final_stats=1) \
			>"target/soak/fuzz-$target.log" 2>&1 || status=$?
		runs_line=$(grep -E '^stat::number_of_executed_units' "target/soak/fuzz-$target.log" | tail -n 1 || true)
		echo "$target: exit $status, ${runs_line:-no stats}" | tee -a target/soak/fuzz.log
		if [ "$status" -ne 0 ]; then
			mkdir -p "fuzz/regressions/$target"
			cp fuzz/artifacts/"$target"/* "fuzz/regressions/$target/" 2>/dev/null || true
			echo "soak: $target found a failure; its input is in fuzz/regressions/$target/" >&2
			exit "$status"
		fi
	done
fi

if runs chaos; then
	"$CARGO" build --release -p herald-bench -p herald-local
	HERALD_BENCH_ONLY=chaos HERALD_BENCH_CHAOS_SECONDS=${HERALD_SOAK_SECONDS:-600} \
		target/release/herald-bench 2>&1 | tee target/soak/chaos.log
fi
echo "soak: done; logs in target/soak/"
