#!/usr/bin/env bash
# What the audit trail costs the view query (issue 7, docs/benchmarks.md):
# BenchmarkViewQuery's audited and unaudited rounds against the local Kafka,
# in two layouts of the machine's cores:
#
#   shared    broker, gateway and its clients on every core, as in CI;
#   separate  the broker on the last core, the gateway and its clients on
#             the others: production's layout, where Kafka is a cluster of
#             its own, on a machine too small to hold one.
#
# On two shared cores the broker's CPU for every produce request is taken
# from the gateway's, so "shared" measures the pair and "separate" the
# gateway. Each layout starts its broker empty and warms it with a run whose
# figures are dropped: a JVM that has not compiled its produce and fetch
# paths yet costs two to three times per request what it costs after. Each
# benchmark process also drops its own first round of each kind.
#
#   deploy/local/bench-audit.sh        # LAYOUTS, CONCURRENCY, ROUNDS, QUERIES
#
# Prints each round, then per layout and concurrency the mean audited and
# unaudited queries/s and what the audit costs. Stops the broker at the end.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
layouts=${LAYOUTS:-shared separate}
concurrency=${CONCURRENCY:-16 64}
rounds=${ROUNDS:-4}
queries=${QUERIES:-25000}
state=${PASSERELLE_STATE:-/tmp/passerelle-local}
cores=$(nproc)

work=$(mktemp -d)
trap '"$here/kafka.sh" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
(cd "$root" && go test -c -o "$work/gateway.test" ./internal/gateway)

# run CONCURRENCY ROUNDS: one benchmark process, its rounds alternating
# audited and unaudited on one fixture (100,000 citizens).
run() {
  local pin=()
  [[ -n $gateway_cpus ]] && pin=(taskset -c "$gateway_cpus")
  (cd "$root/internal/gateway" &&
    PASSERELLE_BENCH_CONCURRENCY=$1 PASSERELLE_BENCH_ROUNDS=$2 PASSERELLE_BENCH_WARMUP=1 \
      "${pin[@]}" "$work/gateway.test" -test.run '^$' -test.bench ViewQuery \
      -test.benchtime "${queries}x" -test.timeout 30m)
}

for layout in $layouts; do
  case $layout in
    shared) broker_cpus='' gateway_cpus='' ;;
    separate)
      ((cores >= 2)) || { echo "bench-audit: 'separate' needs two cores" >&2; exit 2; }
      broker_cpus=$((cores - 1)) gateway_cpus=0-$((cores - 2))
      ;;
    *) echo "bench-audit: unknown layout $layout (shared, separate)" >&2; exit 2 ;;
  esac
  "$here/kafka.sh" down >/dev/null 2>&1
  set -a # every PASSERELLE_KAFKA_* setting, for the test binaries
  eval "$(KAFKA_CPUS=$broker_cpus "$here/kafka.sh" up)"
  set +a

  PASSERELLE_BENCH_BROKER_PID=$(<"$state/kafka/kafka.pid")
  export PASSERELLE_BENCH_BROKER_PID
  echo "== $layout: broker on cores ${broker_cpus:-all}, gateway on ${gateway_cpus:-all}; warming the broker" >&2
  run 64 4 >/dev/null
  for c in $concurrency; do
    echo "== $layout, $c concurrent requests, $rounds rounds of $queries queries each way"
    run "$c" "$rounds" | grep '^BenchmarkViewQuery' | grep -v warmup | tee "$work/rounds"
    awk -v layout="$layout" -v c="$c" '
      { for (i = 3; i < NF; i++) if ($(i+1) == "queries/s") q = $i
        if ($1 ~ /unaudited/) { u += q; nu++ } else { a += q; na++ } }
      END { printf "== %s, %d concurrent: audited %.0f q/s, unaudited %.0f q/s (means): the audit costs %.0f%%\n",
              layout, c, a/na, u/nu, 100 * (1 - (a/na) / (u/nu)) }' "$work/rounds"
  done
done
