package citizenview

import (
	"errors"
	"time"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/policy"
)

// What a view that was not answered means for its caller. Every error View
// returns is an *Error wrapping one of them; errors.Is tells which.
var (
	// ErrInvalid: the request is malformed (a NIR, a purpose, a field).
	// Correct it; asked again as is, it gets the same answer. Audited as a
	// refusal.
	ErrInvalid = errors.New("invalid view request")
	// ErrRefused: the policy refused the request (Error.Code is its reason:
	// no rule, a ceiling reached, a consent missing…). Audited; asked again
	// it is refused until what the code names changes.
	ErrRefused = errors.New("view refused by the policy")
	// ErrSettled: the audit log settled the request's claims against it:
	// another request, at this or another gateway, took the last use of a
	// limit or used the token first (Error.Code is the void's code).
	// Nothing was released.
	ErrSettled = errors.New("view settled against it by the audit log")
	// ErrUnavailable: something the view needs is not there yet or now (a
	// state still catching up with its topic, the keys, the audit log).
	// Nothing was released; ask again, after Error.RetryAfter if set.
	ErrUnavailable = errors.New("view unavailable")
	// ErrIndexFailed: the audit index the limits are counted from could
	// not be read. Nothing was released; an operator's matter.
	ErrIndexFailed = errors.New("audit index failed")
)

// ErrUsageLagging: the audit trail the limits count from has not caught up
// (Limits.Lock); counting now could let a requester past a ceiling. Ask
// again shortly: View answers it as ErrUnavailable, CodeUsageLagging.
var ErrUsageLagging = errors.New("past accesses are still being read from the audit log")

// Stable codes of the errors View returns, besides the policy's refusals
// (policy.Code*) and the log's voids (audit.Void*).
const (
	CodeNIRMalformed    = "nir-malformed"
	CodeUnknownPurpose  = policy.CodeUnknownPurpose
	CodeFieldUnknown    = "field-unknown"
	CodeKeysUnavailable = "keys-unavailable"
	// CodeViewLagging: the view index is still reading the domain topics;
	// it would answer "no record" for what it has not read yet.
	CodeViewLagging = "view-lagging"
	// CodeConsentLagging: the consent state is still reading its topic;
	// deciding on it could release what a citizen has just revoked.
	CodeConsentLagging = "consent-state-lagging"
	// CodeUsageLagging: the audit trail the limits count from is still
	// reading the log; counting from it could let a requester past a
	// ceiling.
	CodeUsageLagging     = "usage-state-lagging"
	CodeViewUnavailable  = "view-unavailable"
	CodeAuditUnavailable = audit.VoidUnavailable
	CodeIndexFailed      = "audit-index-failed"
)

// How long to wait before asking again, by what is lagging.
const (
	retryViewLagging = 5 * time.Second
	retryStateLagged = 2 * time.Second
	retryAuditDown   = 5 * time.Second
)

// Error is why a view was not answered: its kind (one of the Err
// sentinels above, which it wraps), a stable code callers branch on, a
// detail for the requester, and the cause if there is one.
type Error struct {
	Kind error
	Code string
	// Detail says what the code means for this request: the field
	// unknown, the ceiling reached, the request's id.
	Detail string
	// RetryAfter, for ErrUnavailable, is how long to wait before asking
	// again; zero if nothing says.
	RetryAfter time.Duration
	// Parameter names the request parameter at fault, for ErrInvalid:
	// nir, purpose or fields.
	Parameter string
	// Ceiling, for a refusal at a purpose's frequency ceiling, says which
	// and when the next access can be answered.
	Ceiling *CeilingState
	// Consent, for a refusal for the consent's sake, says its state.
	Consent *ConsentState
	Err     error
}

// CeilingState is a purpose's frequency ceiling as it stood for a refused
// request.
type CeilingState struct {
	Purpose       string `json:"purpose"`
	Max           int    `json:"max"`
	WindowSeconds int64  `json:"window_seconds"`
	// Used is how many accesses the window holds.
	Used int `json:"used"`
	// RetryAt is when the oldest of them leaves the window, and the next
	// access can be answered; absent if the log does not say yet.
	RetryAt *time.Time `json:"retry_at,omitempty"`
}

// ConsentState is a consent as it stood for a refused request.
type ConsentState struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Mode   string `json:"mode"`
	// MaxUses is how many releases the consent allows (in each period, for
	// a periodic one); Uses how many it has had, UsesLeft what remains.
	MaxUses  int       `json:"max_uses"`
	Uses     int       `json:"uses"`
	UsesLeft int       `json:"uses_left"`
	Expiry   time.Time `json:"expiry"`
}

func (e *Error) Error() string {
	msg := "citizen view: " + e.Kind.Error() + ": " + e.Code
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil && e.Err.Error() != e.Detail {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap gives errors.Is and errors.As the kind and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func unavailable(code string, retry time.Duration, err error) *Error {
	return &Error{Kind: ErrUnavailable, Code: code, RetryAfter: retry, Err: err}
}

// auditDown: the event could not be made durable (the audit log has said
// why) or its settling could not be read (the caller of record has).
func auditDown(err error) *Error {
	return unavailable(CodeAuditUnavailable, retryAuditDown, err)
}
