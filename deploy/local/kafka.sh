#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, combined broker+controller) on 127.0.0.1 for
# Passerelle's integration tests. No Docker: the official jars come from Maven
# Central (see kafka-pom.xml) and run as a plain java process.
#
#   deploy/local/kafka.sh up|down|status
#
# `up` prints PASSERELLE_KAFKA_BROKERS=host:port on stdout (progress goes to
# stderr), so callers can do: eval "$(deploy/local/kafka.sh up)".
# Exit code 3 means java/mvn is missing: callers skip the tests then.
#
# KAFKA_CPUS (a taskset list, e.g. 1) keeps the broker on those cores, so that
# a benchmark can give it cores of its own as a production cluster has
# (deploy/local/bench-audit.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pom=$here/kafka-pom.xml
# The pom is the single place that names the default version.
KAFKA_VERSION=${KAFKA_VERSION:-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")}
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19093}
KAFKA_HEAP=${KAFKA_HEAP:--Xms256m -Xmx1g}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}

cache=${PASSERELLE_CACHE:-$HOME/.cache/passerelle}/kafka-$KAFKA_VERSION
libs=$cache/libs
state=${PASSERELLE_STATE:-/tmp/passerelle-local}/kafka
pidfile=$state/kafka.pid
logfile=$state/kafka.log
brokers=127.0.0.1:$KAFKA_PORT

say() { echo "kafka.sh: $*" >&2; }
die() { say "$*"; exit 1; }
need() { command -v "$1" >/dev/null || { say "$1 not found: cannot run local Kafka"; exit 3; }; }

# Runs one of the Kafka CLI classes from the cached jars, quietly. The timeout
# stops a tool that waits forever on an unresponsive broker.
kafka_tool() {
  timeout 30 java -Xmx256m -Dlog4j2.configurationFile="$state/log4j2-tools.properties" \
    -cp "$libs/*" "$@"
}

running() {
  local pid
  [[ -f $pidfile ]] && pid=$(<"$pidfile") &&
    # Check the command line too: a stale pid file may name a recycled pid.
    grep -qa 'kafka\.Kafka' "/proc/$pid/cmdline" 2>/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Copies the broker jars into the cache once; later runs reuse them. The cache
# is keyed by version and by the pom's content, so editing the pom refetches.
fetch_jars() {
  if [[ -d $libs ]] && cmp -s "$pom" "$cache/kafka-pom.xml"; then
    return
  fi
  need mvn
  say "fetching Kafka $KAFKA_VERSION jars with Maven into $libs"
  local tmp=$cache/libs.tmp.$$
  rm -rf "$tmp" && mkdir -p "$cache"
  # Download into a temp dir and swap it in, so an interrupted fetch never
  # leaves a half-filled cache that later runs would trust.
  # stdout is reserved for the PASSERELLE_* line: Maven's output goes to stderr.
  mvn -q -B -f "$pom" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DoutputDirectory="$tmp" >&2 ||
    { rm -rf "$tmp"; die "mvn could not fetch Kafka $KAFKA_VERSION"; }
  rm -rf "$libs" && mv "$tmp" "$libs"
  cp "$pom" "$cache/kafka-pom.xml"
}

write_config() {
  cat >"$state/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$state/data
# One node: every internal topic must live with a single replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
# Small internal topics: creating 50 partitions slows the first consumer group.
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
num.partitions=1
# Tests create their topics explicitly; typos should fail, not auto-create.
auto.create.topics.enable=false
# Do not make every test's consumer group wait 3 s for more members.
group.initial.rebalance.delay.ms=0
EOF
  cat >"$state/log4j2.properties" <<'EOF'
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
EOF
  # CLI tools print their results on stdout: keep their logging to warnings on stderr.
  cat >"$state/log4j2-tools.properties" <<'EOF'
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = err
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
EOF
}

service=Kafka
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2034 # service is read by lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

up() {
  need java
  if running; then
    say "already running (pid $(<"$pidfile"))"
    echo "PASSERELLE_KAFKA_BROKERS=$brokers"
    return
  fi
  if port_open "$KAFKA_PORT"; then die "port $KAFKA_PORT is taken by another process"; fi
  fetch_jars

  mkdir -p "$state"
  write_config
  # Format once; a state dir left by an earlier `up` keeps its topics.
  if [[ ! -f $state/data/meta.properties ]]; then
    kafka_tool kafka.tools.StorageTool format --standalone \
      --cluster-id "$(kafka_tool kafka.tools.StorageTool random-uuid)" \
      --config "$state/server.properties" >/dev/null
  fi

  local heap
  read -ra heap <<<"$KAFKA_HEAP"
  say "starting Kafka $KAFKA_VERSION on $brokers (log: $logfile)"
  local pin=()
  if [[ -n ${KAFKA_CPUS:-} ]]; then
    need taskset
    pin=(taskset -c "$KAFKA_CPUS")
  fi
  # taskset execs java: the pid written is the broker's.
  nohup "${pin[@]}" java "${heap[@]}" -Dlog4j2.configurationFile="$state/log4j2.properties" \
    -cp "$libs/*" kafka.Kafka "$state/server.properties" >"$logfile" 2>&1 &
  echo $! >"$pidfile"
  await_exec

  # An open port is not enough (the socket may accept before the broker is
  # registered): wait until a real client request gets an answer. The cheap
  # port probe avoids starting a JVM per second while the broker boots.
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  until port_open "$KAFKA_PORT" &&
    kafka_tool org.apache.kafka.tools.BrokerApiVersionsCommand \
      --bootstrap-server "$brokers" >/dev/null 2>&1; do
    running || fail_start "Kafka exited during startup"
    ((SECONDS < deadline)) || fail_start "Kafka not ready after ${KAFKA_START_TIMEOUT}s"
    sleep 1
  done
  say "ready"
  echo "PASSERELLE_KAFKA_BROKERS=$brokers"
}

down() {
  stop_service
  rm -rf "$state"
  say "down"
}

status() {
  if running; then
    say "running (pid $(<"$pidfile")) on $brokers, state in $state"
  else
    say "not running"
    return 1
  fi
}

case ${1:-} in
  up | down | status) "$1" ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
