#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, combined broker+controller) on 127.0.0.1 for
# Passerelle's integration tests. No Docker: the official jars come from Maven
# Central (see kafka-pom.xml) and run as a plain java process.
#
#   deploy/local/kafka.sh up|down|status
#
# `up` prints the connection settings on stdout, one VAR=value a line
# (progress goes to stderr), so callers can do: eval "$(deploy/local/kafka.sh up)":
#
#   PASSERELLE_KAFKA_BROKERS=127.0.0.1:19092
#   PASSERELLE_KAFKA_CA=<state>/tls/ca.crt             the local CA, made at first start
#   PASSERELLE_KAFKA_USER=admin                         a superuser, for tests and `passerelle kafka apply`
#   PASSERELLE_KAFKA_PASSWORD_FILE=<state>/users/admin.password   mode 0600
#   PASSERELLE_KAFKA_MTLS_BROKERS=127.0.0.1:19094       the mutual-TLS listener
#   PASSERELLE_KAFKA_CA_KEY=<state>/tls/ca.key         for tests to issue client certificates
#
# The broker is locked down as production would be. Clients reach it over
# TLS 1.2+ only, on two listeners: SASL_SSL with SCRAM-SHA-512, and SSL with
# a client certificate whose CN names the principal (the same principal
# either way). The second exists because librdkafka before 2.6.1 (Debian's
# kcat and python3-confluent-kafka) computes a SCRAM proof Kafka 4 rightly
# refuses (librdkafka#4895, CVE-2024-56128). The controller listener is TLS
# with client certificates, and Kafka's StandardAuthorizer refuses whatever
# no ACL allows. No private key is committed: the CA and the broker's key
# are generated under the state directory when it is created.
# Exit code 3 means java/mvn/openssl is missing: callers skip the tests then.
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
KAFKA_MTLS_PORT=${KAFKA_MTLS_PORT:-19094}
# For benchmarks only (deploy/local/bench-tls.sh): a plaintext listener
# whose anonymous clients are superusers, to measure what TLS and SASL
# cost against the same broker in the same run. Never set otherwise.
KAFKA_PLAINTEXT_PORT=${KAFKA_PLAINTEXT_PORT:-}
KAFKA_HEAP=${KAFKA_HEAP:--Xms256m -Xmx1g}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}

cache=${PASSERELLE_CACHE:-$HOME/.cache/passerelle}/kafka-$KAFKA_VERSION
libs=$cache/libs
state=${PASSERELLE_STATE:-/tmp/passerelle-local}/kafka
pidfile=$state/kafka.pid
logfile=$state/kafka.log
brokers=127.0.0.1:$KAFKA_PORT
tlsdir=$state/tls
userdir=$state/users
# The broker's certificate names this subject; over the TLS-only controller
# listener it is the broker's own principal (User:passerelle-local-broker,
# by the mapping rule below), a superuser.
broker_cn=passerelle-local-broker

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

# A CA and a broker certificate for 127.0.0.1 and localhost, made once per
# state directory. Kafka reads PEM directly: the keystore is the broker's
# key and certificate in one file, the truststore the CA.
make_tls() {
  [[ -f $tlsdir/broker.pem ]] && return
  need openssl
  mkdir -p "$tlsdir" && chmod 700 "$tlsdir"
  (
    cd "$tlsdir"
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
      -subj "/CN=Passerelle local CA" -keyout ca.key -out ca.crt \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$broker_cn" \
      -keyout broker.key -out broker.csr 2>/dev/null
    openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -out broker.crt \
      -extfile <(printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        "extendedKeyUsage=serverAuth,clientAuth" "keyUsage=critical,digitalSignature") 2>/dev/null
    # Kafka's PEM keystore wants a PKCS#8 key.
    openssl pkcs8 -topk8 -nocrypt -in broker.key -out broker.pk8
    cat broker.pk8 broker.crt >broker.pem
    rm -f broker.csr broker.key broker.pk8
    chmod 644 ca.crt
  )
}

# The superuser's password, made once per state directory, readable only here.
admin_password() {
  if [[ ! -f $userdir/admin.password ]]; then
    mkdir -p "$userdir" && chmod 700 "$userdir"
    (umask 077 && openssl rand -hex 24 >"$userdir/admin.password")
  fi
  cat "$userdir/admin.password"
}

settings() {
  echo "PASSERELLE_KAFKA_BROKERS=$brokers"
  echo "PASSERELLE_KAFKA_CA=$tlsdir/ca.crt"
  echo "PASSERELLE_KAFKA_USER=admin"
  echo "PASSERELLE_KAFKA_PASSWORD_FILE=$userdir/admin.password"
  echo "PASSERELLE_KAFKA_MTLS_BROKERS=127.0.0.1:$KAFKA_MTLS_PORT"
  echo "PASSERELLE_KAFKA_CA_KEY=$tlsdir/ca.key"
  if [[ -n $KAFKA_PLAINTEXT_PORT ]]; then echo "PASSERELLE_KAFKA_PLAINTEXT_BROKERS=127.0.0.1:$KAFKA_PLAINTEXT_PORT"; fi
}

write_config() {
  local pw bench_listener="" bench_map="" bench_super=""
  pw=$(admin_password)
  if [[ -n $KAFKA_PLAINTEXT_PORT ]]; then
    bench_listener=",BENCH://127.0.0.1:$KAFKA_PLAINTEXT_PORT" bench_map=",BENCH:PLAINTEXT" bench_super=";User:ANONYMOUS"
  fi
  cat >"$state/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=SASL_SSL://127.0.0.1:$KAFKA_PORT,MTLS://127.0.0.1:$KAFKA_MTLS_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT$bench_listener
advertised.listeners=SASL_SSL://127.0.0.1:$KAFKA_PORT,MTLS://127.0.0.1:$KAFKA_MTLS_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT$bench_listener
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=SASL_SSL:SASL_SSL,MTLS:SSL,CONTROLLER:SSL$bench_map
# TLS everywhere, 1.2 at least.
ssl.keystore.type=PEM
ssl.keystore.location=$tlsdir/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$tlsdir/ca.crt
ssl.enabled.protocols=TLSv1.3,TLSv1.2
ssl.endpoint.identification.algorithm=https
# The controller knows its peers by certificate; clients by SCRAM or by
# certificate, whose CN is then the principal: CN=gateway is User:gateway,
# as the SCRAM user gateway is.
listener.name.controller.ssl.client.auth=required
listener.name.mtls.ssl.client.auth=required
ssl.principal.mapping.rules=RULE:^CN=([A-Za-z0-9._-]+)$/\$1/,DEFAULT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$pw";
# Nothing is allowed that an ACL does not allow (allow.everyone.if.no.acl.found
# stays false); the broker itself and the admin are superusers.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:$broker_cn;User:admin$bench_super
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
  # What the CLI tools need to reach the locked-down listener as the admin.
  (umask 077 && cat >"$state/client.properties" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$pw";
ssl.truststore.type=PEM
ssl.truststore.location=$tlsdir/ca.crt
EOF
  )
}

service=Kafka
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2034 # service is read by lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

up() {
  need java
  if running; then
    say "already running (pid $(<"$pidfile"))"
    settings
    return
  fi
  local p
  for p in "$KAFKA_PORT" "$KAFKA_MTLS_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_open "$p"; then die "port $p is taken by another process"; fi
  done
  fetch_jars

  mkdir -p "$state"
  make_tls
  write_config
  # Format once; a state dir left by an earlier `up` keeps its topics. The
  # admin's SCRAM credential goes in at format time: with the authorizer on,
  # nobody could create it afterwards.
  if [[ ! -f $state/data/meta.properties ]]; then
    kafka_tool kafka.tools.StorageTool format --standalone \
      --cluster-id "$(kafka_tool kafka.tools.StorageTool random-uuid)" \
      --add-scram "SCRAM-SHA-512=[name=admin,password=$(admin_password)]" \
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
      --bootstrap-server "$brokers" --command-config "$state/client.properties" >/dev/null 2>&1; do
    running || fail_start "Kafka exited during startup"
    ((SECONDS < deadline)) || fail_start "Kafka not ready after ${KAFKA_START_TIMEOUT}s"
    sleep 1
  done
  say "ready"
  settings
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
