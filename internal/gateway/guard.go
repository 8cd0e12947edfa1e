package gateway

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/pki"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

// Auditor makes a decision durable before its answer leaves: an
// *audit.Log.
type Auditor = audit.Appender

// Guard is what every authenticated endpoint goes through: the request
// token, the role, and the audit event of what the request was answered,
// refusals included. Nothing of a request is answered before its event is
// durable and the log has settled its claims.
type Guard struct {
	Auth  *trust.Authenticator
	Audit Auditor
	// Pseudo names, in a refusal's event, the citizen the path named.
	Pseudo *pseudo.Pseudonymizer
	// Trail follows the audit log: it tells how the log settled an
	// event's claims against other gateways' (audit/claims.go).
	Trail *audit.Trail
	Log   *slog.Logger
	Now   func() time.Time
}

// noStore is the Cache-Control of every answer of an authenticated route
// (RFC 9111, 5.2.2.5): what it carries is a citizen's data, or who asked
// for it, and no proxy or browser cache may keep it, a refusal included,
// which tells that a citizen is known or a consent exists.
const noStore = "no-store"

// requestID names a new event: the id a request is answered under.
func requestID() string { return audit.NewID(time.Now()) }

type requestKey struct{}

// request is what the guard knows of an authenticated request.
type request struct {
	caller trust.Caller
	// from is how far the trail had read when the request came: every
	// check made for it (token, ceilings, consent uses) saw at least that
	// much of the log.
	from int64
}

// protect lets through only a valid member token holding role (any
// member if role is ""). A missing or invalid token is a 401 problem
// document, unaudited: nobody is known to have asked. A replayed token
// and a missing role are refused with an audit event of kind
// audit.KindRefusal, as the answer of what was asked, and so is a valid
// token over a connection whose client certificate does not go with it
// (refuseCertificate). Every answer,
// refusals included, is marked for no cache to keep (noStore).
func (g *Guard) protect(role string, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", noStore)
		from := g.Trail.Next()
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			token = ""
		}
		cert := peerCertificate(r)
		c, err := g.Auth.CallerOver([]byte(strings.TrimSpace(token)), trust.Connection{Cert: cert})
		if err != nil {
			code := trust.AuthMalformed
			var ae *trust.AuthError
			if errors.As(err, &ae) {
				code = ae.Code
			}
			switch code {
			case trust.CertRequired, trust.CertMismatch, trust.CertNotBound:
				r = r.WithContext(context.WithValue(r.Context(), requestKey{}, &request{caller: c, from: from}))
				g.refuseCertificate(w, r, cert, err)
				return
			case trust.AuthReplayed:
				if c.Member != nil && !g.refuseReplay(w, r, c) {
					return
				}
			}
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeProblem(w, http.StatusUnauthorized, code, "Authentication refused", err.Error())
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), requestKey{}, &request{caller: c, from: from}))
		if role != "" && !c.Has(role) {
			g.reject(w, r, http.StatusForbidden, "role-missing", "The "+role+" role is required", "")
			return
		}
		next(w, r)
	})
}

// refusal is the event of a request refused for what it asked: the route
// (its pattern, so no NIR), and the citizen's audit pseudonym if the path
// names a valid NIR, so that an attempt shows in the citizen's trail.
func (g *Guard) refusal(r *http.Request, c trust.Caller, code string) audit.Event {
	ev := audit.Event{ID: requestID(), Time: g.Now(), Kind: audit.KindRefusal, Requester: c.ID, KeyID: c.KeyID,
		Decision: "deny", Code: code, Query: map[string]string{"route": r.Pattern}}
	if nir := r.PathValue("nir"); nir != "" && g.Pseudo != nil && pseudo.ValidateNIR(nir) == nil {
		if ids, err := g.Pseudo.Audit(r.Context(), []string{nir}); err == nil {
			ev.Citizen = ids[0]
		}
	}
	return ev
}

// peerCertificate is the client certificate of the request's connection,
// nil if none. The TLS layer verified it against the client CA (the
// gateway's tls.client_auth); the handshake proved the client holds its
// key. Which member it speaks for is the registry's to say, by
// thumbprint (trust.Caller.CheckCertificate), never its subject's.
func peerCertificate(r *http.Request) *x509.Certificate {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil
	}
	return r.TLS.PeerCertificates[0]
}

// refuseCertificate refuses a request whose token verified but whose
// connection's certificate does not go with it (trust.CertRequired,
// CertMismatch, CertNotBound): 401 as for a bad token, since token and
// connection together do not prove the member (RFC 8705, section 3), but
// audited, as a replay is: the token's signature held, so a member is
// known to have asked, and a certificate that is somebody else's is what
// an auditor wants to see. The event names the certificate presented.
func (g *Guard) refuseCertificate(w http.ResponseWriter, r *http.Request, cert *x509.Certificate, err error) {
	code := trust.CertMismatch
	var ae *trust.AuthError
	if errors.As(err, &ae) {
		code = ae.Code
	}
	ev := g.refusal(r, caller(r), code)
	if cert != nil {
		ev.Query["certificate"] = pki.Thumbprint(cert)
	}
	if void, err := g.record(r, ev); err != nil {
		writeAuditDown(w)
		return
	} else if void != "" {
		answerVoid(w, void)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	writeProblem(w, http.StatusUnauthorized, code, "Authentication refused", err.Error())
}

// refuseReplay audits a replayed token, without the token's id (the first
// use holds it); false if it could not be (the request was answered 503).
func (g *Guard) refuseReplay(w http.ResponseWriter, r *http.Request, c trust.Caller) bool {
	if _, err := g.Audit.Append(r.Context(), g.refusal(r, c, trust.AuthReplayed)); err != nil {
		writeAuditDown(w)
		return false
	}
	return true
}

// record writes ev, the event of what a request is answered, with the
// request's token, and returns once the log has settled it: void is ""
// if the answer may leave as decided, else the code the request is
// refused with instead (a limit another gateway's request reached first,
// a token it used first). An error means nothing may be released, and
// the request is answered 503; a void is then written for the event.
func (g *Guard) record(r *http.Request, ev audit.Event) (void string, err error) {
	req := requestOf(r)
	ev.KeyID, ev.Token, ev.TokenExpiry = req.caller.KeyID, req.caller.TokenID, req.caller.Expiry.Unix()
	void, _, err = g.Trail.Record(r.Context(), g.Audit, ev, req.from)
	if errors.Is(err, audit.ErrUnsettled) {
		g.Log.Warn("audit event not settled: answered 503", "decision_id", ev.ID, "err", err)
	}
	return void, err
}

// settle records ev as record does and reports whether the answer may
// leave; if not, it has answered: 503 when the event could not be made
// durable, the void's problem when the log settled it as void.
func (g *Guard) settle(w http.ResponseWriter, r *http.Request, ev audit.Event) bool {
	switch void, err := g.record(r, ev); {
	case err != nil:
		writeAuditDown(w)
		return false
	case void != "":
		answerVoid(w, void)
		return false
	}
	return true
}

// reject refuses a request the guard let through, for what it asked
// (a malformed query, an unknown purpose): audited, then answered.
func (g *Guard) reject(w http.ResponseWriter, r *http.Request, status int, code, title, detail string) {
	if void, err := g.record(r, g.refusal(r, caller(r), code)); err != nil {
		writeAuditDown(w)
		return
	} else if void != "" {
		answerVoid(w, void)
		return
	}
	writeProblem(w, status, code, title, detail)
}

// answerVoid answers a request whose event the log settled as void.
func answerVoid(w http.ResponseWriter, void string) {
	if void == audit.VoidToken {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeProblem(w, http.StatusUnauthorized, void, "Authentication refused", "the token was used first at another gateway")
		return
	}
	writeProblem(w, http.StatusForbidden, void, "Access refused by the policy", "another request reached the limit first")
}

// requestOf returns what the guard knows of a request it let through.
func requestOf(r *http.Request) *request {
	req, _ := r.Context().Value(requestKey{}).(*request)
	if req == nil {
		return &request{}
	}
	return req
}

// caller returns the authenticated member of a request and its key id.
func caller(r *http.Request) trust.Caller { return requestOf(r).caller }
