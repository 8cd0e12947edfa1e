package budget

import "errors"

var (
	// ErrExhausted: the spend was refused, the requester's budget for the
	// rule and period does not cover it. The caller refuses the request;
	// the Account returned with it says what is left.
	ErrExhausted = errors.New("privacy budget exhausted")

	// ErrInvalid: the spend lacks a field or has a zero amount. The caller
	// fixes its code; nothing was written.
	ErrInvalid = errors.New("invalid privacy budget spend")

	// ErrStopped: the ledger's follower is not running, so no verdict can
	// be learnt. The caller answers 503; a spend already written keeps its
	// verdict, which a retry with the same id returns.
	ErrStopped = errors.New("privacy budget ledger stopped")
)
