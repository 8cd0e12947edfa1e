package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/datakeys"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/fieldcrypt"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

// Erasures serves the controller's erasure of a citizen (docs/DESIGN.md,
// "Personal data on the log"): each domain's data key of the citizen
// destroyed, on the key topics.
type Erasures struct {
	Guard   *Guard
	Pseudo  *pseudo.Pseudonymizer
	Ledgers map[string]*datakeys.Ledger
	Writer  *bus.Writer
	Sealer  *seal.Sealer
}

// ErasureRequest is the body of POST /v1/erasures.
type ErasureRequest struct {
	NIR        string `json:"nir"`
	Reason     string `json:"reason"`
	LegalBasis string `json:"legal_basis"`
}

// ErasureResponse says what was destroyed.
type ErasureResponse struct {
	ErasureID string `json:"erasure_id"`
	// Domains whose key of the citizen was destroyed; a domain that held
	// none is not listed.
	Domains []string `json:"domains"`
	Keys    int      `json:"keys_destroyed"`
}

// erasureApplied bounds how long the answer waits for this gateway's
// ledgers to read the erasures back.
const erasureApplied = 10 * time.Second

// Routes mounts the erasure endpoint.
func (e *Erasures) Routes(mux *http.ServeMux) {
	mux.Handle("POST /v1/erasures", e.Guard.protect(trust.RoleController, e.erase))
}

func (e *Erasures) erase(w http.ResponseWriter, r *http.Request) {
	g := e.Guard
	var req ErasureRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		g.reject(w, r, http.StatusBadRequest, "erasure-malformed", "The erasure is not valid JSON", err.Error())
		return
	}
	if err := pseudo.ValidateNIR(req.NIR); err != nil {
		g.reject(w, r, http.StatusBadRequest, "nir-malformed", "The NIR is not valid", err.Error())
		return
	}
	if strings.TrimSpace(req.Reason) == "" || strings.TrimSpace(req.LegalBasis) == "" {
		g.reject(w, r, http.StatusBadRequest, "erasure-malformed", "An erasure says why", "reason and legal_basis are required")
		return
	}
	if len(e.Ledgers) == 0 {
		writeProblem(w, http.StatusServiceUnavailable, "keys-unavailable", "This gateway holds no data keys", "it runs without a KEK")
		return
	}
	ctx := r.Context()
	citizen, err := e.Pseudo.Audit(ctx, []string{req.NIR})
	if err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "keys-unavailable", "Pseudonym keys unavailable", "")
		return
	}
	now := g.Now()
	id := requestID()
	erasure := datakeys.Erasure{ID: id, Reason: req.Reason, LegalBasis: req.LegalBasis}
	var records []*datakeys.Record
	subjects := map[string]string{}
	for _, d := range domains.Names() {
		l := e.Ledgers[d]
		if l == nil {
			continue
		}
		s, err := e.Pseudo.Domain(ctx, d, []string{req.NIR})
		if err != nil {
			writeProblem(w, http.StatusServiceUnavailable, "keys-unavailable", "Pseudonym keys unavailable", "")
			return
		}
		if rec := l.Erase(s[0], erasure, now); rec != nil {
			records = append(records, rec)
			subjects[d] = s[0]
		}
	}
	resp := ErasureResponse{ErasureID: id, Domains: []string{}}
	for _, rec := range records {
		resp.Domains = append(resp.Domains, rec.Domain)
		resp.Keys += len(rec.Erasure.KeyIDs)
	}
	slices.Sort(resp.Domains)
	// Audited before anything is destroyed, as every decision is; the
	// event carries the audit pseudonym only, and the trail still
	// verifies after.
	ev := audit.Event{ID: id, Time: now, Kind: audit.KindErasure, Requester: caller(r).ID, Citizen: citizen[0],
		Decision: "erased", Query: map[string]string{"reason": req.Reason, "legal_basis": req.LegalBasis, "domains": strings.Join(resp.Domains, ",")}}
	if !g.settle(w, r, ev) {
		return
	}
	if err := e.publish(ctx, records, subjects); err != nil {
		g.Audit.Void(ev, "erasure-unavailable")
		writeProblem(w, http.StatusServiceUnavailable, "erasure-unavailable", "The erasure could not be written", "nothing was destroyed: try again")
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// publish writes the erased records and waits until this gateway's
// ledgers hold them: once the answer leaves, this gateway serves none of
// the citizen's sealed records.
func (e *Erasures) publish(ctx context.Context, records []*datakeys.Record, subjects map[string]string) error {
	if len(records) == 0 {
		return nil
	}
	ms, err := datakeys.Messages(ctx, e.Sealer, records)
	if err != nil {
		return err
	}
	if err := e.Writer.Write(ctx, ms...); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, erasureApplied)
	defer cancel()
	for _, rec := range records {
		id, _ := datakeys.KeyIDOf(rec.Erasure.KeyIDs[0])
		for {
			_, err := e.Ledgers[rec.Domain].Key(ctx, subjects[rec.Domain], id)
			if errors.Is(err, fieldcrypt.ErrShredded) {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return nil
}
