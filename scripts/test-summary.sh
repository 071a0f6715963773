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
/^ *Running / {
    suite = $2; sub(/^.*\//, "", suite); sub(/\.rs$/, "", suite)
    if ($2 ~ /^unittests/) { suite = $4; sub(/^.*\//, "", suite); sub(/-[0-9a-f]+\)$/, "", suite); suite = "unit tests: " suite }
}
/^test result: / {
    runs++
    line = $0; sub(/^test result: [a-zA-Z]+\. /, "", line); sub(/; [0-9]+ measured.*$/, "", line)
    per[runs] = sprintf("  %-40s %s", suite, line)
    for (i = 1; i <= NF; i++) {
        word = $i; sub(/[;,.]$/, "", word)
        if (word == "passed")  passed  += $(i - 1)
        if (word == "failed")  failed  += $(i - 1)
        if (word == "ignored") ignored += $(i - 1)
    }
}
END {
    if (runs == 0) { print "summary: no test results in the log (did the build fail?)"; exit 0 }
    print "tests per suite (store_contract_* is one suite run against each store):"
    for (i = 1; i <= runs; i++) print per[i]
    printf "summary: %d passed, %d failed, %d skipped\n", passed, failed, ignored
}' "$log"
