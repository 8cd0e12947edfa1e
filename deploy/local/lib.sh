# shellcheck shell=bash disable=SC2154 # the variables come from the sourcing script
# Shared by kafka.sh and vault.sh, which define say, running, $pidfile,
# $logfile and $service (the name to print) before sourcing this file.

# SIGTERM lets the server shut down cleanly (flush its log, leave its
# quorum); SIGKILL only if it is still there 30 seconds later.
stop_service() {
  running || return 0
  local pid
  pid=$(<"$pidfile")
  say "stopping $service (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 30); do
    running || return 0
    sleep 1
  done
  say "still running after 30s, killing it"
  kill -KILL "$pid"
}

# Keeps the state dir (and its log) for a post-mortem, but never leaves a
# half-started server behind.
fail_start() {
  say "$1; last lines of $logfile:"
  tail -n 40 "$logfile" >&2 || true
  stop_service
  exit 1
}
