#!/usr/bin/env bash
# Throughput and latency of the reference gateway with the seawall layers
# and with them removed (`--stack naive`: static split, no breakers, limits
# or bulkheads; everything else the same), on loopback, with oha.
#
#   scripts/loadtest.sh                 # 10 s per run, 32 connections
#   DURATION=30s CONNS=64 scripts/loadtest.sh
#
# Both gateways run the built-in demo configuration with in-process demo
# backends that answer at once (--demo-service-time 0ms), so the numbers
# measure the gateway, not a backend's sleep. Only 127.0.0.1 is targeted.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-2}
PORT=${PORT:-18181}

command -v oha >/dev/null 2>&1 || cargo install oha --locked
cargo build --release --example gateway --features full
out=$(mktemp -d)

run() { # stack round
    local stack=$1 round=$2 log="$out/$1-$2"
    ./target/release/examples/gateway --stack "$stack" --listen "127.0.0.1:$PORT" \
        --demo-service-time 0ms >"$log.gateway" 2>&1 &
    local pid=$!
    for _ in $(seq 100); do
        curl -fs "http://127.0.0.1:$PORT/api/ready" >/dev/null 2>&1 && break
        sleep 0.1
    done
    oha -z "$DURATION" -c "$CONNS" --no-tui --output-format json \
        "http://127.0.0.1:$PORT/api/hello" >"$log.json"
    kill -INT "$pid"
    wait "$pid" || true
}

# Alternate the stacks so that drift in the machine's load hits both alike.
for round in $(seq "$ROUNDS"); do
    run naive "$round"
    run seawall "$round"
done

python3 - "$out" "$ROUNDS" <<'PY'
import json, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def load(stack):
    runs = [json.load(open(f"{out}/{stack}-{r}.json")) for r in range(1, rounds + 1)]
    rps = sum(r["summary"]["requestsPerSec"] for r in runs) / rounds
    ok = sum(r["summary"]["successRate"] for r in runs) / rounds
    pct = {q: 1e3 * sum(r["latencyPercentiles"][q] for r in runs) / rounds for q in ("p50", "p90", "p99")}
    return rps, ok, pct
naive, seawall = load("naive"), load("seawall")
print(f"{'stack':<8} {'req/s':>9} {'success':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}")
for name, (rps, ok, p) in (("naive", naive), ("seawall", seawall)):
    print(f"{name:<8} {rps:>9.0f} {100*ok:>7.2f}% {p['p50']:>8.3f} {p['p90']:>8.3f} {p['p99']:>8.3f}")
ratio = seawall[0] / naive[0]
print(f"seawall / naive throughput: {ratio:.3f} (layers cost {100*(1-ratio):.1f} %; target under 5 %)")
PY
