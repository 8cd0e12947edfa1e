package gateway

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

// Audit serves the trail: events to auditors; checkpoints and proofs to
// every member (a member that keeps the last checkpoint it saw is a
// witness), with an event's content only to auditors and to the member
// whose request it records; a citizen's access log to the citizens'
// portals. Reading the trail is itself audited.
type Audit struct {
	Guard     *Guard
	Trail     *audit.Trail
	Publisher *audit.Publisher
	Pseudo    *pseudo.Pseudonymizer
	Trust     *trust.Store
}

// Routes mounts the audit endpoints.
func (a *Audit) Routes(mux *http.ServeMux) {
	mux.Handle("GET /v1/audit/events", a.Guard.protect(trust.RoleAuditor, a.caughtUp(a.events)))
	mux.Handle("GET /v1/audit/checkpoint", a.Guard.protect("", a.caughtUp(a.checkpoint)))
	mux.Handle("GET /v1/audit/proof", a.Guard.protect("", a.caughtUp(a.proof)))
	mux.Handle("GET /v1/citizens/{nir}/access-log", a.Guard.protect(trust.RoleConsentCollector, a.caughtUp(a.accessLog)))
}

// syncTimeout bounds the wait for the trail to read what was written
// before a query; it follows the topic FollowLag behind.
const syncTimeout = 2 * time.Second

// caughtUp answers only from a trail that has read every event written
// before the request: an incomplete trail would answer "nobody" where the
// truth is "not yet read".
func (a *Audit) caughtUp(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), syncTimeout)
		defer cancel()
		detail := "still replaying the audit topic"
		select {
		case <-a.Trail.Ready():
			err := a.Trail.Sync(ctx)
			if err == nil {
				h(w, r)
				return
			}
			detail = err.Error()
		default:
		}
		w.Header().Set("Retry-After", "2")
		writeProblem(w, http.StatusServiceUnavailable, "audit-trail-lagging", "The audit trail is still being read", detail)
	}
}

// EventsResponse is the body of GET /v1/audit/events.
type EventsResponse struct {
	Events []audit.Entry `json:"events"`
	// Next is the cursor of the next page (?after=), when there is one.
	Next *int64 `json:"next,omitempty"`
	// TreeSize is the number of events the gateway had read.
	TreeSize int64 `json:"tree_size"`
}

func (a *Audit) events(w http.ResponseWriter, r *http.Request) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		a.Guard.reject(w, r, http.StatusBadRequest, "query-malformed", "Malformed query", err.Error())
		return
	}
	f := audit.Filter{Requester: q.Get("requester"), Purpose: q.Get("purpose")}
	if k := q.Get("kind"); k != "" {
		f.Kinds = []string{k}
	}
	if f.From, err = timeParam(q.Get("from")); err == nil {
		f.To, err = timeParam(q.Get("to"))
	}
	if err == nil {
		f.After, err = intParam(q.Get("after"), -1)
	}
	if err == nil {
		var limit int64
		limit, err = intParam(q.Get("limit"), 1000)
		f.Limit = int(limit)
	}
	if err != nil {
		a.Guard.reject(w, r, http.StatusBadRequest, "query-malformed", "Malformed query", err.Error())
		return
	}
	query := map[string]string{}
	for _, k := range []string{"requester", "purpose", "kind", "from", "to", "after", "limit"} {
		if v := q.Get(k); v != "" {
			query[k] = v
		}
	}
	if nir := q.Get("nir"); nir != "" {
		var ok bool
		if f.Citizen, ok = auditPseudonym(w, r, a.Guard, a.Pseudo, nir); !ok {
			return
		}
		query["nir"] = "(audit pseudonym in citizen)"
	}
	ev := audit.Event{ID: requestID(), Time: a.Guard.Now(), Kind: audit.KindTrace, Requester: caller(r).ID,
		Citizen: f.Citizen, Decision: "allow", Query: query}
	if !a.Guard.settle(w, r, ev) {
		return
	}
	page, more, err := a.Trail.Events(f)
	if err != nil {
		writeIndexFailed(w, err)
		return
	}
	resp := EventsResponse{Events: page, TreeSize: a.Trail.Size()}
	if more {
		next := page[len(page)-1].Index
		resp.Next = &next
	}
	writeJSON(w, http.StatusOK, resp)
}

// Access is one line of a citizen's access log.
type Access struct {
	Time          time.Time `json:"time"`
	Requester     string    `json:"requester"`
	RequesterName string    `json:"requester_name"`
	Purpose       string    `json:"purpose"`
	LegalBasis    string    `json:"legal_basis,omitempty"`
	Decision      string    `json:"decision"`
	Released      []string  `json:"released"`
	// Void, when set, says that the access released nothing after all,
	// and why (the request was answered 503, or lost a limit to another).
	Void    string `json:"void,omitempty"`
	EventID string `json:"event_id"`
	Index   int64  `json:"index"`
}

func (a *Audit) accessLog(w http.ResponseWriter, r *http.Request) {
	citizen, ok := auditPseudonym(w, r, a.Guard, a.Pseudo, r.PathValue("nir"))
	if !ok {
		return
	}
	ev := audit.Event{ID: requestID(), Time: a.Guard.Now(), Kind: audit.KindAccessLog, Requester: caller(r).ID,
		Citizen: citizen, Decision: "allow"}
	if !a.Guard.settle(w, r, ev) {
		return
	}
	entries, _, err := a.Trail.Events(audit.Filter{Citizen: citizen, Kinds: []string{audit.KindView}, After: -1, Limit: audit.MaxPage})
	if err != nil {
		writeIndexFailed(w, err)
		return
	}
	reg := a.Trust.Current()
	out := make([]Access, 0, len(entries))
	for _, e := range entries {
		name := e.Requester
		if m, err := reg.Member(e.Requester); err == nil {
			name = m.Name
		}
		released := e.Released
		if released == nil || e.Void != "" {
			released = []string{}
		}
		out = append(out, Access{Time: e.Time, Requester: e.Requester, RequesterName: name, Purpose: e.Purpose,
			LegalBasis: e.LegalBasis, Decision: e.Decision, Released: released, Void: e.Void, EventID: e.ID, Index: e.Index})
	}
	writeJSON(w, http.StatusOK, map[string]any{"accesses": out})
}

func (a *Audit) checkpoint(w http.ResponseWriter, r *http.Request) {
	ev := audit.Event{ID: requestID(), Time: a.Guard.Now(), Kind: audit.KindProof, Requester: caller(r).ID,
		Decision: "allow", Query: map[string]string{"checkpoint": "latest"}}
	if !a.Guard.settle(w, r, ev) {
		return
	}
	cp, err := a.Publisher.Publish(r.Context())
	switch {
	case errors.Is(err, audit.ErrEmpty):
		writeProblem(w, http.StatusNotFound, "audit-empty", "The audit log has no event yet", "")
		return
	case err != nil:
		w.Header().Set("Retry-After", "5")
		writeProblem(w, http.StatusServiceUnavailable, "checkpoint-unavailable", "No checkpoint could be signed", "")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(cp.Note)
}

// ProofResponse is an RFC 9162 proof: an inclusion proof of leaf Index in
// the tree of Size events, or a consistency proof from the tree of From
// events to the tree of Size. Hashes are base64 (standard), as in
// checkpoints.
type ProofResponse struct {
	Kind     string `json:"kind"` // inclusion or consistency
	Index    *int64 `json:"index,omitempty"`
	EventID  string `json:"event_id,omitempty"`
	LeafHash string `json:"leaf_hash,omitempty"`
	// Leaf is the event exactly as written on the topic (base64): hash it
	// to check the proof, read it to see what was recorded. Only auditors
	// and the member whose request the event records see it; others get
	// the proof of the leaf hash alone.
	Leaf  string   `json:"leaf,omitempty"`
	From  *int64   `json:"from,omitempty"`
	Size  int64    `json:"size"`
	Root  string   `json:"root"`
	Proof []string `json:"proof"`
	// Checkpoint is the signed note of Size when no size was asked for:
	// the gateway signs its whole tree, so the proof ends at a signed root.
	Checkpoint string `json:"checkpoint,omitempty"`
}

func (a *Audit) proof(w http.ResponseWriter, r *http.Request) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		a.Guard.reject(w, r, http.StatusBadRequest, "query-malformed", "Malformed query", err.Error())
		return
	}
	query := map[string]string{}
	for _, k := range []string{"event", "index", "from", "size"} {
		if v := q.Get(k); v != "" {
			query[k] = v
		}
	}
	ev := audit.Event{ID: requestID(), Time: a.Guard.Now(), Kind: audit.KindProof, Requester: caller(r).ID,
		Decision: "allow", Query: query}
	if !a.Guard.settle(w, r, ev) {
		return
	}
	tree := a.Trail.Tree()
	var signed []byte
	if !q.Has("size") {
		cp, err := a.Publisher.Publish(r.Context())
		if err != nil {
			w.Header().Set("Retry-After", "5")
			writeProblem(w, http.StatusServiceUnavailable, "checkpoint-unavailable", "No checkpoint could be signed", "")
			return
		}
		q.Set("size", strconv.FormatInt(cp.Size, 10))
		signed = cp.Note
	}
	size, err := intParam(q.Get("size"), 0)
	if err != nil || size < 1 || size > tree.Size() {
		writeProblem(w, http.StatusBadRequest, "proof-size", "size must be between 1 and the tree size", strconv.FormatInt(tree.Size(), 10))
		return
	}
	root, _ := tree.Root(size)
	resp := ProofResponse{Size: size, Root: b64(root), Checkpoint: string(signed)}
	var hashes []tlog.Hash
	switch {
	case q.Has("from"):
		from, err := intParam(q.Get("from"), 0)
		if err != nil || from < 1 || from > size {
			writeProblem(w, http.StatusBadRequest, "proof-size", "from must be between 1 and size", "")
			return
		}
		resp.Kind, resp.From = "consistency", &from
		hashes, err = tree.Consistency(from, size)
		if err != nil {
			writeProblem(w, http.StatusInternalServerError, "proof-failed", "The proof could not be built", err.Error())
			return
		}
	case q.Has("event") || q.Has("index"):
		var index int64
		ok := false
		if q.Has("event") {
			if index, ok, err = a.Trail.Index(q.Get("event")); err != nil {
				writeIndexFailed(w, err)
				return
			}
		} else {
			index, err = intParam(q.Get("index"), -1)
			ok = err == nil && index >= 0
		}
		if !ok || index >= size {
			writeProblem(w, http.StatusNotFound, "event-unknown", "No such event in the tree of that size", "")
			return
		}
		e, leaf, err := a.Trail.Leaf(r.Context(), index)
		switch {
		case errors.Is(err, audit.ErrIndex):
			writeIndexFailed(w, err)
			return
		case err != nil:
			writeProblem(w, http.StatusServiceUnavailable, "leaf-unavailable", "The event could not be read back from the log", err.Error())
			return
		}
		// Leaf checked the bytes against this hash.
		resp.Kind, resp.Index, resp.EventID, resp.LeafHash = "inclusion", &index, e.ID, b64(tlog.RecordHash(leaf))
		if c := caller(r); c.Has(trust.RoleAuditor) || (e.Requester == c.ID && e.Kind != audit.KindVoid) {
			resp.Leaf = base64.StdEncoding.EncodeToString(leaf)
		}
		hashes, err = tree.Inclusion(index, size)
		if err != nil {
			writeProblem(w, http.StatusInternalServerError, "proof-failed", "The proof could not be built", err.Error())
			return
		}
	default:
		writeProblem(w, http.StatusBadRequest, "proof-kind", "Ask for event= (or index=) or from=", "")
		return
	}
	resp.Proof = make([]string, len(hashes))
	for i, h := range hashes {
		resp.Proof[i] = b64(h)
	}
	writeJSON(w, http.StatusOK, resp)
}

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

func timeParam(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339, s)
}

func intParam(s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	return strconv.ParseInt(s, 10, 64)
}
