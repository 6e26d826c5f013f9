#!/usr/bin/env bash
# Instructions per call of every core workload, ours and the floor, counted by callgrind: exact
# and repeatable on any machine, unlike times. Needs valgrind.
#   benches/instructions.sh [CALLS]
set -euo pipefail
cd "$(dirname "$0")/.."
calls="${1:-1000}"
cargo build --release -p square-oauth-benches --example profile >&2
bin=${CARGO_TARGET_DIR:-target}/release/examples/profile
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
base=$(count ours-code-exchange 0)
printf '%-20s %10s %10s %7s\n' workload ours floor ratio
for w in code-exchange pkce-refresh token-status revoke error-current error-legacy authorize pkce; do
    ours=$(( ($(count "ours-$w" "$calls") - base) / calls ))
    floor=$(( ($(count "floor-$w" "$calls") - base) / calls ))
    printf '%-20s %10d %10d %7.2f\n' "$w" "$ours" "$floor" "$(echo "$ours / $floor" | bc -l)"
done
peer=$(( ($(count oauth2-code-exchange "$calls") - base) / calls ))
printf '%-20s %10s %10d\n' "oauth2 code-exchange" "" "$peer"
