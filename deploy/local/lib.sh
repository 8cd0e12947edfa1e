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

# The pid just written is the forked shell's until it execs the server, and
# `running` checks the command line, so a check made before the exec (slow
# on a loaded machine) would report a server that died in startup. Wait for
# the exec, or for the process to end; the caller's own check reports that.
await_exec() {
  local pid
  pid=$(<"$pidfile")
  for _ in $(seq 200); do
    running && return 0
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.05
  done
}
