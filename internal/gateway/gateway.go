// Package gateway is Passerelle's HTTP API (docs/DESIGN.md, "HTTP").
package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/passerelle-bus/passerelle/internal/httpmux"
	"github.com/passerelle-bus/passerelle/internal/supervise"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/policy"
	"github.com/passerelle-bus/passerelle/schemas"
)

// Check reports whether one dependency is ready; nil means ready.
type Check func(ctx context.Context) error

// Options configure the HTTP handler.
type Options struct {
	Log     *slog.Logger
	Metrics *prometheus.Registry
	// Schemas, when set, is served read-only at /registry/ in the manner
	// of a Confluent Schema Registry.
	Schemas *schemas.Catalog
	// Trust, when set, serves the member registry.
	Trust *trust.Store
	// Citizens, when set, serves the unified citizen view.
	Citizens *Citizens
	// Consents, when set, serves the consent API.
	Consents *Consents
	// Audit, when set, serves the audit trail and citizens' access logs.
	Audit *Audit
	// Aggregates, when set, serves decision-makers' statistics.
	Aggregates *Aggregates
	// Erasures, when set, serves the controller's erasures.
	Erasures *Erasures
	// Policy, when set, is published at /v1/rules: the register of
	// exchanges is public.
	Policy *policy.RuleSet
	// Ready lists the checks /readyz runs, by name.
	Ready map[string]Check
	// Parts, when set, are the long-running parts serving the gateway:
	// /readyz names each one that failed, or is not ready yet, beside the
	// checks. A part with a check's name shares its entry; the check says
	// why a part that is starting is not ready, the part why it failed.
	Parts *supervise.Group
}

// checkTimeout bounds one readiness probe: a probe that hangs is worse for
// an orchestrator than one that says no.
const checkTimeout = 2 * time.Second

// NewHandler returns the gateway's routes. A request no route takes is
// answered a problem document too (routerProblem).
func NewHandler(o Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
		defer cancel()
		status, checks := http.StatusOK, map[string]string{}
		for name, check := range o.Ready {
			if err := check(ctx); err != nil {
				status, checks[name] = http.StatusServiceUnavailable, err.Error()
				o.Log.Warn("not ready", "check", name, "err", err)
				continue
			}
			checks[name] = "ok"
		}
		if o.Parts != nil {
			for _, h := range o.Parts.Health() {
				err := h.Problem()
				if err == nil {
					if _, ok := checks[h.Name]; !ok {
						checks[h.Name] = "ok"
					}
					continue
				}
				status = http.StatusServiceUnavailable
				if msg, ok := checks[h.Name]; ok && msg != "ok" && h.State == supervise.Starting {
					continue // the check says what it waits for
				}
				checks[h.Name] = err.Error()
				o.Log.Warn("not ready", "part", h.Name, "err", err)
			}
		}
		writeJSON(w, status, map[string]any{"ready": status == http.StatusOK, "checks": checks})
	})
	mux.HandleFunc("GET /openapi.json", serveOpenAPI)
	mux.Handle("GET /metrics", promhttp.HandlerFor(o.Metrics, promhttp.HandlerOpts{Registry: o.Metrics}))
	if o.Trust != nil {
		mux.HandleFunc("GET /v1/members", membersHandler(o.Trust))
		mux.HandleFunc("GET /v1/members/{id}/jwks.json", jwksHandler(o.Trust))
	}
	if o.Citizens != nil {
		o.Citizens.Routes(mux)
	}
	if o.Consents != nil {
		o.Consents.Routes(mux)
	}
	if o.Audit != nil {
		o.Audit.Routes(mux)
	}
	if o.Aggregates != nil {
		o.Aggregates.Routes(mux)
	}
	if o.Erasures != nil {
		o.Erasures.Routes(mux)
	}
	if o.Policy != nil {
		mux.HandleFunc("GET /v1/rules", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{
				"policy_version": o.Policy.Version, "purposes": o.Policy.Purposes(), "rules": o.Policy.Rules(),
				// What the decisions read: every field and its class. A
				// special-category field needs the citizen's consent or a
				// rule's named legal exception (each rule's releases).
				"fields": policy.Catalogue(),
				// What decision-makers may compute, and what they may
				// group statistics by.
				"aggregates": o.Policy.Aggregates(), "breakdowns": policy.Breakdowns(),
			})
		})
	}
	if o.Schemas != nil {
		mux.Handle("/registry/", http.StripPrefix("/registry", o.Schemas.Handler()))
	}
	return httpmux.Fallback(mux, routerProblem)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
