package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/stats"
	"github.com/passerelle-bus/passerelle/internal/stats/budget"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/policy"
)

// Aggregates serves decision-makers' statistics (POST /v1/aggregates).
type Aggregates struct {
	Guard *Guard
	Rules *policy.RuleSet
	Stats *stats.Service
	// Ready is closed once the view, which the statistics hear, has
	// caught up with the domain topics.
	Ready  <-chan struct{}
	Ledger *budget.Ledger
	// Random draws the noise: crypto/rand when nil.
	Random io.Reader
}

// Problem codes of the aggregates endpoint besides the query's own.
const (
	codeStatsLagging     = "stats-lagging"
	codeStatsUnavailable = "stats-unavailable"
	codeBudgetDown       = "budget-unavailable"
)

// maxQueryBytes bounds a query's body: a query names a few dimensions,
// measures and filter values.
const maxQueryBytes = 64 << 10

// Routes mounts the statistics endpoint on mux.
func (a *Aggregates) Routes(mux *http.ServeMux) {
	mux.Handle("POST /v1/aggregates", a.Guard.protect(trust.RoleDecisionMaker, a.query))
}

func (a *Aggregates) query(w http.ResponseWriter, r *http.Request) {
	now := a.Guard.Now()
	var q stats.Query
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxQueryBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		a.Guard.reject(w, r, http.StatusBadRequest, stats.CodeBodyInvalid, "Malformed aggregate query", err.Error())
		return
	}
	if dec.More() {
		a.Guard.reject(w, r, http.StatusBadRequest, stats.CodeBodyInvalid, "Malformed aggregate query", "one JSON object, nothing after it")
		return
	}
	c := caller(r)
	rule, ok := a.Rules.Aggregate(c.ID, q.Purpose, now)
	if !ok {
		a.Guard.reject(w, r, http.StatusForbidden, stats.CodeRuleMissing, "No aggregate rule allows this",
			fmt.Sprintf("no aggregate rule in force lets %s compute statistics for purpose %q (GET /v1/rules lists them)", c.ID, q.Purpose))
		return
	}
	plan, err := stats.Compile(rule, q)
	if err != nil {
		var e *stats.Error
		errors.As(err, &e)
		a.Guard.reject(w, r, http.StatusBadRequest, e.Code, "Aggregate query refused", e.Detail)
		return
	}
	select {
	case <-a.Ready:
	default:
		w.Header().Set("Retry-After", "5")
		a.Guard.reject(w, r, http.StatusServiceUnavailable, codeStatsLagging, "The view is still being built from the log", "")
		return
	}
	snap := a.Stats.Snapshot()
	table, err := snap.Table(rule)
	if err != nil {
		a.Guard.Log.Error("statistics table failed", "rule", rule.ID, "err", err)
		a.Guard.reject(w, r, http.StatusServiceUnavailable, codeStatsUnavailable, "The statistics could not be computed", "")
		return
	}
	id := requestID()
	var answer stats.Answer
	if plan.EpsMicro > 0 {
		acct, err := a.Ledger.Spend(r.Context(), budget.Spend{ID: id, Requester: c.ID, Rule: rule.ID,
			Period: policy.BudgetPeriod(now), EpsMicro: plan.EpsMicro, BudgetMicro: uint64(rule.Noise.Budget * 1e6)})
		switch {
		case errors.Is(err, budget.ErrExhausted):
			a.Guard.reject(w, r, http.StatusForbidden, stats.CodeBudgetExhausted, "Privacy budget exhausted",
				fmt.Sprintf("%s has %v of its budget of %v under %s left for %s", c.ID, float64(acct.RemainingMicro())/1e6,
					rule.Noise.Budget, rule.ID, policy.BudgetPeriod(now)))
			return
		case err != nil:
			a.Guard.Log.Error("privacy budget not spent", "rule", rule.ID, "err", err)
			w.Header().Set("Retry-After", "5")
			a.Guard.reject(w, r, http.StatusServiceUnavailable, codeBudgetDown, "The privacy budget could not be checked, so nothing is released", "")
			return
		}
		if answer, err = stats.Noisy(plan, table, snap.At, a.Random); err != nil {
			a.Guard.Log.Error("noisy answer failed", "rule", rule.ID, "err", err)
			a.Guard.reject(w, r, http.StatusServiceUnavailable, codeStatsUnavailable, "The statistics could not be computed", "")
			return
		}
		answer.Budget = &stats.Budget{Period: acct.Period, Spent: float64(acct.SpentMicro) / 1e6,
			Total: float64(acct.BudgetMicro) / 1e6, Remaining: float64(acct.RemainingMicro()) / 1e6}
	} else {
		answer = stats.Exact(plan, table, snap.At)
	}
	answer.DecisionID = id
	ev := audit.Event{ID: id, Time: now, Kind: audit.KindAggregate, Requester: c.ID, Purpose: rule.Purpose,
		LegalBasis: rule.LegalBasis, Decision: "permit", Rule: rule.ID, PolicyVersion: a.Rules.Version, Query: auditQuery(r, q, answer)}
	if !a.Guard.settle(w, r, ev) {
		return
	}
	if wantsCSV(r) {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_ = answer.WriteCSV(w)
		return
	}
	writeJSON(w, http.StatusOK, answer)
}

// auditQuery is what the audit event says of a statistic: what was asked
// and how many cells were released or suppressed, never a value.
func auditQuery(r *http.Request, q stats.Query, a stats.Answer) map[string]string {
	m := map[string]string{
		"route":       r.Pattern,
		"group_by":    strings.Join(a.GroupBy, ","),
		"measures":    strings.Join(a.Columns, ","),
		"snapshot":    a.SnapshotAt.Format("2006-01-02T15:04:05Z"),
		"released":    strconv.Itoa(a.Disclosure.Counts.Released),
		"k_threshold": strconv.Itoa(a.Disclosure.Counts.KThreshold),
		"dominance":   strconv.Itoa(a.Disclosure.Counts.Dominance),
		"secondary":   strconv.Itoa(a.Disclosure.Counts.Secondary),
	}
	var filters []string
	for _, f := range q.Filters {
		filters = append(filters, f.Field+" in "+strings.Join(f.In, "|"))
	}
	if filters != nil {
		m["filters"] = strings.Join(filters, "; ")
	}
	if a.Disclosure.Noise != nil {
		m["noise"] = a.Disclosure.Noise.Mechanism
		m["epsilon"] = strconv.FormatFloat(a.Disclosure.Noise.Epsilon, 'f', -1, 64)
	}
	return m
}

// wantsCSV: the client asked for text/csv.
func wantsCSV(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(mt, "text/csv") {
			return true
		}
	}
	return false
}
