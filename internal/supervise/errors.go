package supervise

import "errors"

// ErrStopped: the group is stopping or stopped; the part was not started
// and the caller still owns it (its Close was not called).
var ErrStopped = errors.New("supervise: group stopped")

// ErrExited: a part's Run returned nil before the group was stopped. Every
// part runs until it is stopped, so returning early is a failure too: a
// follower that stopped following serves stale state.
var ErrExited = errors.New("stopped on its own")

// ErrNotStopped: a part was still running when Stop's deadline passed; its
// Close was not called, since closing what a running part uses would break
// it mid-work. The process should exit all the same.
var ErrNotStopped = errors.New("did not stop in time")
