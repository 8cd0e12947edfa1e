package audit

import (
	"time"
)

// A view that releases data claims uses of limits: a use of its purpose's
// frequency ceiling, a use of the consent it relies on, and the one use of
// its request token. Gateways that share the log decide concurrently, so
// the log itself settles who got a use: every reader replays the claims in
// topic order and gives each to the events that came first, the same way
// everywhere. An event whose claim finds its limit already reached in
// that order released nothing, whatever its decision says: the trail
// marks it void, with the code of the limit, and no count includes it.
//
// A gateway reserves a use before it decides and writes the event; if
// every record between what its trail had read when it counted and its
// event is its own, its count was the log's, and it answers at once.
// Otherwise it reads the log up to its event and answers as the log
// settled (Trail.Outcome). The rule, for an event e at its place in the
// topic, counting only the earlier events that are not void:
//
//   - e.token: void (token-replayed) if an earlier event carries it;
//   - e.ceiling: void (purpose-ceiling-frequency) if ceiling.max earlier
//     views of e.citizen by e.requester for e.purpose released data at
//     or after e.time - window;
//   - e.consent: void (consent-overused) if consent.max_uses earlier views
//     that released data under consent.id did so at or after
//     e.time - period (ever, without a period).
//
// A void event (kind void, ref the id of another) voids that event from
// its own place on: the gateway writes one for a request it answered
// without releasing anything (503, the audit write having failed or timed
// out) whose event may nonetheless have landed.

// Ceiling is a purpose's frequency ceiling, as a view claims a use of it.
type Ceiling struct {
	Max           int   `json:"max"`
	WindowSeconds int64 `json:"window_seconds"`
}

// ConsentClaim is a use of a consent that a view claims.
type ConsentClaim struct {
	ID      string `json:"id"`
	MaxUses int    `json:"max_uses"`
	// PeriodSeconds is the period of a periodic consent; zero counts
	// every use ever made.
	PeriodSeconds int64 `json:"period_seconds,omitempty"`
}

// Codes of a void event: why the trail counts an event as having released
// nothing.
const (
	VoidCeiling   = "purpose-ceiling-frequency"
	VoidConsent   = "consent-overused"
	VoidToken     = "token-replayed"
	VoidDuplicate = "duplicate" // a producer's retry wrote the event twice
	// VoidUnavailable: the request was answered 503 because its event was
	// not acknowledged in time.
	VoidUnavailable = "audit-unavailable"
)

// TokenWindow is how long after its expiry the trail remembers a token:
// longer than any gateway accepts one (the clock skew it tolerates), so
// no replay outlives its memory.
const TokenWindow = time.Minute

// maxPendingVoids bounds the voids kept for events not read yet: a void
// is written after a failed write, whose event may land later or never.
const maxPendingVoids = 1 << 16

// arbitrate settles the claims of the event being kept: it returns the
// void the event is read with, "" if it stands. t.mu is held, and the
// event is not among the counted ones yet.
func (t *Trail) arbitrate(e *Event) (string, error) {
	if code, ok := t.pendingVoids[e.ID]; ok {
		delete(t.pendingVoids, e.ID)
		return code, nil
	}
	if e.Token != "" {
		t.tokMu.Lock()
		_, seen := t.tokens[e.Token]
		if !seen {
			t.tokens[e.Token] = e.TokenExpiry
		}
		t.tokMu.Unlock()
		if seen {
			return VoidToken, nil
		}
	}
	if !released(e.Kind, e.Decision) {
		return "", nil
	}
	if c := e.Ceiling; c != nil {
		since := e.Time.Add(-time.Duration(c.WindowSeconds) * time.Second)
		n, err := t.usesUnlocked(e.Citizen, claimUses{since: since, requester: e.Requester, purpose: e.Purpose})
		if err != nil {
			return "", err
		}
		if n >= c.Max {
			return VoidCeiling, nil
		}
	}
	if c := e.Consent; c != nil {
		var since time.Time
		if c.PeriodSeconds > 0 {
			since = e.Time.Add(-time.Duration(c.PeriodSeconds) * time.Second)
		}
		n, err := t.usesUnlocked(e.Citizen, claimUses{since: since, byConsent: true, consent: c.ID})
		if err != nil {
			return "", err
		}
		if n >= c.MaxUses {
			return VoidConsent, nil
		}
	}
	return "", nil
}

// applyVoid takes a void event: the event it names released nothing.
func (t *Trail) applyVoid(ref, code string) error {
	if code == "" {
		code = VoidUnavailable
	}
	index, void, ok, err := t.store.index(ref)
	if err != nil {
		return err
	}
	if !ok {
		if len(t.pendingVoids) < maxPendingVoids {
			t.pendingVoids[ref] = code
		}
		return nil
	}
	if void == "" {
		t.store.void(index, code)
	}
	return nil
}

// forgetTokens drops the tokens that expired long enough before now that
// no gateway accepts them any more; t.mu is held.
func (t *Trail) forgetTokens(now time.Time) {
	if now.After(t.lastTime) {
		t.lastTime = now
	}
	now = t.lastTime
	if len(t.tokens) < 1024 || now.Sub(t.tokensSwept) < TokenWindow {
		return
	}
	t.tokensSwept = now
	cutoff := now.Add(-TokenWindow).Unix()
	t.tokMu.Lock()
	defer t.tokMu.Unlock()
	for k, exp := range t.tokens {
		if exp < cutoff {
			delete(t.tokens, k)
		}
	}
}

// usesUnlocked counts for arbitrate, which holds t.mu for writing: it
// counts with the lock held for reading only, so that the requests asking
// the trail meanwhile do not wait for the disk index. Only the trail's
// Add changes what is counted, and Adds come one at a time (take); a save
// landing meanwhile moves events from memory to disk, and the count sees
// them on one side or the other.
func (t *Trail) usesUnlocked(citizen string, u claimUses) (int, error) {
	t.mu.Unlock()
	t.mu.RLock()
	defer func() {
		t.mu.RUnlock()
		t.mu.Lock()
	}()
	return t.store.count(citizen, u)
}

// Uses counts the views of citizen by requester for purpose, at or after
// since, that released data: what a purpose's frequency ceiling counts.
func (t *Trail) Uses(citizen, requester, purpose string, since time.Time) (int, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.store.count(citizen, claimUses{since: since, requester: requester, purpose: purpose})
}

// ConsentUses counts the views of citizen that released data under
// consent id at or after since (zero: ever).
func (t *Trail) ConsentUses(citizen, id string, since time.Time) (int, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.store.count(citizen, claimUses{since: since, byConsent: true, consent: id})
}

// TokenSeen reports whether an event read so far carries token. It does
// not wait for the trail's lock: every request asks it.
func (t *Trail) TokenSeen(token string) bool {
	t.tokMu.Lock()
	defer t.tokMu.Unlock()
	_, ok := t.tokens[token]
	return ok
}

// Outcome says how the log settled the event id: found once the trail has
// read it, and void the code of why it released nothing ("" if it stands
// as written).
func (t *Trail) Outcome(id string) (void string, found bool, err error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	_, void, ok, err := t.store.index(id)
	if err != nil || !ok {
		return "", false, err
	}
	return void, true, nil
}

// Topic is the audit topic the trail reads.
func (t *Trail) Topic() string { return t.o.Topic }

// Next is the offset of the first record the trail has not read. It does
// not wait for the trail's lock: every request asks it.
func (t *Trail) Next() int64 { return t.nextSeen.Load() }
