#!/usr/bin/env bash
# Usage: scripts/test-summary.sh <cargo test log>
# Adds up cargo's per-binary "test result:" lines and prints one closing line:
#   summary: N passed, N failed, N skipped
# (skipped = cargo's "ignored"). Prints a note instead when the log has no test results, e.g.
# because the build failed. Always exits 0: the caller decides the status from cargo's own.
set -uo pipefail
log="${1:?usage: $0 <cargo test log>}"
[ -f "$log" ] || { echo "summary: no test log at $log"; exit 0; }
awk '
/^test result: / {
    runs++
    for (i = 1; i <= NF; i++) {
        word = $i; sub(/[;,.]$/, "", word)
        if (word == "passed")  passed  += $(i - 1)
        if (word == "failed")  failed  += $(i - 1)
        if (word == "ignored") ignored += $(i - 1)
    }
}
END {
    if (runs == 0) { print "summary: no test results in the log (did the build fail?)"; exit 0 }
    printf "summary: %d passed, %d failed, %d skipped\n", passed, failed, ignored
}' "$log"
