#!/usr/bin/env bash
# Installs, if missing, the third-party implementations that Passerelle's
# interoperability tests check our wire formats against, from Debian's
# packages: kcat (a librdkafka CLI), and Avro, JOSE (jwcrypto),
# confluent-kafka and pyca/cryptography (the linkage header) for Python.
#
#   deploy/local/tools.sh
#
# The Python modules go into Debian's /usr/bin/python3, not whatever python3
# comes first on PATH (e.g. pyenv's): tests must run them with /usr/bin/python3.
# Quick and silent when all are present; prints nothing on stdout.
# Exit code 3 means something is missing and we cannot install it (not root,
# or no apt-get): callers skip the tests that need it outside CI.
set -euo pipefail

# python3-requests: confluent-kafka's SchemaRegistryClient needs it and the
# package does not depend on it.
packages=(kcat python3-avro python3-jwcrypto python3-confluent-kafka python3-requests python3-cryptography)

say() { echo "tools.sh: $*" >&2; }
die() { say "$*"; exit 1; }

installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# What the tests actually use, whichever way it got there.
check() {
  command -v kcat >/dev/null &&
    /usr/bin/python3 -c 'import avro.schema, jwcrypto.jwk, confluent_kafka.schema_registry, requests, cryptography.hazmat.primitives.ciphers.aead' 2>/dev/null
}

missing=()
if command -v dpkg-query >/dev/null; then
  for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
elif ! check; then
  say "kcat or a Python module is missing and this is not Debian: install ${packages[*]} by hand"
  exit 3
fi
((${#missing[@]} == 0)) && exit 0

if ((EUID != 0)) || ! command -v apt-get >/dev/null; then
  say "missing ${missing[*]}; run as root to install them (apt-get install ${missing[*]})"
  exit 3
fi

say "installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
# Wait for a concurrent apt/dpkg rather than failing at once on its lock.
apt_opts=(-q -o DPkg::Lock::Timeout=300)
# stdout is reserved (and unused here): apt's output goes to stderr.
apt-get "${apt_opts[@]}" update >&2
apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" >&2 ||
  die "apt-get install ${missing[*]} failed"
check || die "installed ${missing[*]}, but kcat or a Python module still does not load in /usr/bin/python3"
say "installed"
