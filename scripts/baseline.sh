#!/usr/bin/env bash
# The breaker against an earlier commit on this machine, in one session:
# builds benches/baseline.rs from this tree and from BASE (default: the
# foundation release, 9cae6b4) in a temporary worktree, runs the two in
# turn ROUNDS times, and prints each row's best median (ns per call) and
# the ratio this tree / BASE. About 4 minutes per round.
#
#   scripts/baseline.sh                 # against the foundation
#   BASE=<commit> ROUNDS=1 scripts/baseline.sh
set -euo pipefail

base=${BASE:-9cae6b4}
rounds=${ROUNDS:-2}
root=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
cleanup() {
    git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

git -C "$root" worktree add --detach "$work/base" "$base" >/dev/null
cp "$root/benches/baseline.rs" "$work/base/benches/baseline.rs"
if ! grep -q 'name = "baseline"' "$work/base/Cargo.toml"; then
    printf '\n[[bench]]\nname = "baseline"\nharness = false\n' >>"$work/base/Cargo.toml"
fi

run() { # <tree> <target dir> <criterion home>
    (cd "$1" && CARGO_TARGET_DIR="$2" CRITERION_HOME="$3" \
        cargo bench --quiet --bench baseline -- --noplot >/dev/null 2>&1)
}

echo "building and running: this tree and $base, $rounds round(s)" >&2
for round in $(seq "$rounds"); do
    run "$work/base" "$root/target/baseline-base" "$work/crit/base-$round"
    run "$root" "$root/target" "$work/crit/this-$round"
done

python3 - "$work/crit" "$rounds" "$base" <<'PY'
import json, os, sys
crit, rounds, base = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def best(side, row):
    values = []
    for r in range(1, rounds + 1):
        path = f"{crit}/{side}-{r}/baseline/{row}/new/estimates.json"
        if os.path.exists(path):
            values.append(json.load(open(path))["median"]["point_estimate"])
    return min(values) if values else float("nan")

rows = sorted(os.listdir(f"{crit}/this-1/baseline"))
print(f"{'row':24} {base:>9} {'this':>9} {'this/base':>10}")
for row in rows:
    if row == "report":
        continue
    b, t = best("base", row), best("this", row)
    print(f"{row:24} {b:9.2f} {t:9.2f} {t / b:10.2f}")
PY
