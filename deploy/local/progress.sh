#!/usr/bin/env bash
# Turns `go build -v` output (one package path a line, as each is compiled)
# into progress a user can read: how many packages compiled and how long it
# has taken, redrawn in place on a terminal, a line every 15 seconds
# otherwise. Lines that are not package paths (compiler errors) pass through.
#
#   go build -v -o bin/passerelle ./cmd/passerelle 2>&1 | deploy/local/progress.sh "building bin/passerelle"
#
# Writes to stderr; reads until the build closes its output.
set -uo pipefail
what=${1:-building}
start=$SECONDS
n=0
last=0
tty=false
[[ -t 2 ]] && tty=true
show() {
  local t=$((SECONDS - start))
  local line
  line=$(printf '%s: %d packages compiled, %dm%02ds' "$what" "$n" $((t / 60)) $((t % 60)))
  if $tty; then printf '\r%s ' "$line" >&2; else printf '%s\n' "$line" >&2; fi
}
while IFS= read -r l; do
  if [[ $l =~ ^[A-Za-z0-9._/~-]+$ ]]; then
    n=$((n + 1))
    if $tty || ((SECONDS - last >= 15)); then
      show
      last=$SECONDS
    fi
  else
    $tty && printf '\n' >&2
    printf '%s\n' "$l" >&2
  fi
done
((n > 0)) && show
$tty && ((n > 0)) && printf '\n' >&2
exit 0
