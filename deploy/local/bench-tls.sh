#!/usr/bin/env bash
# What TLS and SASL cost, measured side by side in one run: the same local
# broker serves its SASL_SSL listener (SCRAM-SHA-512 over TLS, as every
# component uses) and, for this benchmark only, a plaintext one; the same
# benchmark binaries alternate between the two, so that the machine's slow
# and fast minutes fall on both alike.
#
#   deploy/local/bench-tls.sh
#
# Measures signed publishing (the tax and civil-status connectors, 100,000
# citizens, the passerelle binary: BenchmarkConnector) and audited view
# queries (BenchmarkViewQuery, 16 concurrent requests, each audit event
# acknowledged by the broker; QUERIES a round, default 20000, after a
# warm-up round). PAIRS (default 2) pairs of processes per benchmark. Run
# it on a quiet machine: the ratio is fair to both sides, the figures only
# to the load beside them. Prints each run's figures, then per figure the mean of each
# side and the ratio secure/plaintext.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
pairs=${PAIRS:-2}
work=$(mktemp -d)
trap '"$here/kafka.sh" down >/dev/null 2>&1 || true; "$here/postgres.sh" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

(cd "$root" && go test -c -o "$work/gateway.test" ./internal/gateway && go test -c -o "$work/connect.test" ./internal/connect)

"$here/kafka.sh" down >/dev/null 2>&1 || true
secure=$(KAFKA_PLAINTEXT_PORT=${KAFKA_PLAINTEXT_PORT:-19095} "$here/kafka.sh" up)
pg=$("$here/postgres.sh" up)
plain_brokers=$(sed -n 's/^PASSERELLE_KAFKA_PLAINTEXT_BROKERS=//p' <<<"$secure")

# side NAME: the environment of one side, as env(1) arguments.
side() {
  if [[ $1 == secure ]]; then
    grep '^PASSERELLE_KAFKA_' <<<"$secure" | grep -v PLAINTEXT
  else
    echo "PASSERELLE_KAFKA_BROKERS=$plain_brokers"
  fi
  echo "$pg"
}

# bench SIDE PKG PATTERN BENCHTIME: one benchmark process on one side.
bench() {
  local -a vars
  mapfile -t vars < <(side "$1")
  (cd "$root/internal/$2" && env -u PASSERELLE_KAFKA_CA "${vars[@]}" "$work/$2.test" \
    -test.run '^$' -test.bench "$3" -test.benchtime "$4" -test.count 1 2>&1) |
    grep -E '^Benchmark' | grep -v warmup | sed "s/^/$1 /" | tee -a "$work/results"
}

for ((i = 1; i <= pairs; i++)); do
  # Alternate which side goes first.
  order=(secure plaintext)
  ((i % 2 == 0)) && order=(plaintext secure)
  for s in "${order[@]}"; do
    bench "$s" connect 'BenchmarkConnector/(tax|civilstatus)/batch' 1x
    PASSERELLE_BENCH_ROUNDS=2 PASSERELLE_BENCH_WARMUP=1 bench "$s" gateway 'BenchmarkViewQuery/^(warmup-)?audited' "${QUERIES:-20000}x"
  done
done

echo
echo "mean per side (secure = SCRAM-SHA-512 over TLS 1.3; plaintext = no TLS, no SASL):"
awk '
  { side = $1; name = $2; sub(/-[0-9]+$/, "", name)
    for (i = 4; i < NF; i += 2) { key = name " " $(i+1); sum[side, key] += $i; n[side, key]++; keys[key] = 1 } }
  END {
    for (k in keys) if (k ~ /(rows\/s|queries\/s|p99-ms|cpu-µs\/query)$/ && n["secure", k] && n["plaintext", k]) {
      s = sum["secure", k] / n["secure", k]; p = sum["plaintext", k] / n["plaintext", k]
      printf "%-70s secure %10.1f  plaintext %10.1f  ratio %.2f\n", k, s, p, s / p
    }
  }' "$work/results" | sort
