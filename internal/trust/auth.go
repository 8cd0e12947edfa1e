package trust

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"

	"github.com/passerelle-bus/passerelle/internal/seal"
)

// AuthError is why a request JWT was refused. Code is stable and goes into
// the 401 problem document; nothing after a refusal reaches the policy.
type AuthError struct {
	Code string
	Err  error
}

func (e *AuthError) Error() string { return e.Code + ": " + e.Err.Error() }
func (e *AuthError) Unwrap() error { return e.Err }

// Refusal codes.
const (
	AuthMissing       = "token-missing"
	AuthMalformed     = "token-malformed"
	AuthAlgorithm     = "token-algorithm-refused"
	AuthUnknownKey    = "token-unknown-key"
	AuthRevoked       = "token-revoked"
	AuthBadSignature  = "token-bad-signature"
	AuthExpired       = "token-expired"
	AuthNotYetValid   = "token-not-yet-valid"
	AuthAudience      = "token-wrong-audience"
	AuthLifetime      = "token-lifetime-too-long"
	AuthReplayed      = "token-replayed"
	AuthIssuer        = "token-issuer-mismatch"
	AuthMissingClaims = "token-missing-claims"
)

func refuse(code, format string, args ...any) error {
	return &AuthError{Code: code, Err: fmt.Errorf(format, args...)}
}

// Skew tolerated between the caller's clock and ours.
const Skew = 30 * time.Second

// Authenticator checks request JWTs (docs/DESIGN.md, "HTTP"): signed by the
// calling member's key (EdDSA or ES256, kid in its JWKS), iss = sub = the
// member, aud = this gateway, exp after iat and at most 5 minutes after
// it, and a jti never seen before. A replay is detected here for this
// gateway instance, and for the others sharing its audit log through the
// log (ConsultLog), where each request's event carries its TokenID.
type Authenticator struct {
	store    *Store
	audience string
	now      func() time.Time
	logged   func(tokenID string) bool

	// The replay memory, in shards by token id: every request takes one
	// shard's lock, and with one lock concurrent requests queued on it.
	shards [replayShards]replayShard
}

const replayShards = 16

type replayShard struct {
	mu   sync.Mutex
	seen map[string]time.Time // token id → when it stops mattering
	// order holds the seen ids as they came; tokens live at most
	// MaxTokenTTL, so the oldest is, give or take the TTL, the first to
	// expire, and pruning from the front keeps remember O(1).
	order []seenID
}

// NewAuthenticator checks tokens addressed to audience against store.
func NewAuthenticator(store *Store, audience string, now func() time.Time) *Authenticator {
	if now == nil {
		now = time.Now
	}
	a := &Authenticator{store: store, audience: audience, now: now}
	for i := range a.shards {
		a.shards[i].seen = map[string]time.Time{}
	}
	return a
}

// ConsultLog makes the authenticator also refuse a token whose id logged
// reports: one that a request to another gateway instance already used.
func (a *Authenticator) ConsultLog(logged func(tokenID string) bool) { a.logged = logged }

// Caller is an authenticated request's member, the key its token was
// signed with, and the token's id and expiry (the audit records them).
type Caller struct {
	*Member
	KeyID string
	// TokenID names the token without revealing it: a replay of it is
	// recognised by every gateway that reads the audit log.
	TokenID string
	Expiry  time.Time
	// Confirmation is the x5t#S256 of the certificate the token is bound
	// to (its cnf claim, RFC 8705 section 3.1); "" if it is not bound.
	// CheckCertificate holds the connection to it.
	Confirmation string
}

// TokenID is the id of the token of issuer with jti.
func TokenID(issuer, jti string) string {
	h := sha256.Sum256([]byte(issuer + "\x00" + jti))
	return base64.RawURLEncoding.EncodeToString(h[:18])
}

// Authenticate returns the calling member, or an *AuthError.
func (a *Authenticator) Authenticate(token []byte) (*Member, error) {
	c, err := a.Caller(token)
	return c.Member, err
}

// claimSet is a token's payload, read strictly: a claim of the wrong JSON
// type is an error, not a zero.
type claimSet struct {
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Aud json.RawMessage `json:"aud"`
	Iat json.RawMessage `json:"iat"`
	Exp json.RawMessage `json:"exp"`
	Nbf json.RawMessage `json:"nbf"`
	Jti string          `json:"jti"`
	Cnf json.RawMessage `json:"cnf"`
}

// Caller authenticates token and returns the member and key id. A token
// refused as a replay still returns its caller, whose signature held: the
// refusal is the member's own, and is audited.
func (a *Authenticator) Caller(token []byte) (Caller, error) {
	return a.caller(token, nil)
}

// Connection is what a request's TLS connection proves: its client
// certificate, nil when it presented none.
type Connection struct{ Cert *x509.Certificate }

// CallerOver is Caller for a request over conn: the caller is also held to
// the connection's certificate (Caller.CheckCertificate) before its token
// is spent, and a refusal for the certificate returns the caller too.
func (a *Authenticator) CallerOver(token []byte, conn Connection) (Caller, error) {
	return a.caller(token, &conn)
}

func (a *Authenticator) caller(token []byte, over *Connection) (Caller, error) {
	if len(token) == 0 {
		return Caller{}, refuse(AuthMissing, "no bearer token")
	}
	hdr, payload, sig, err := jwsbb.SplitCompact(token)
	if err != nil {
		return Caller{}, refuse(AuthMalformed, "not a compact JWS")
	}
	// One encoding of each token: no padding, no stray bits, nothing a
	// second spelling of the same signature could slip past the replay
	// memory with.
	for _, seg := range [][]byte{hdr, payload, sig} {
		if _, err := strictB64.DecodeString(string(seg)); err != nil {
			return Caller{}, refuse(AuthMalformed, "a segment is not canonical base64url")
		}
	}
	h := jwsbb.HeaderParseCompact(hdr)
	alg, err := jwsbb.HeaderGetString(h, "alg")
	if err != nil {
		return Caller{}, refuse(AuthMalformed, "no alg")
	}
	// Before any key is touched: none and the HMAC family (with a public
	// key as the secret) are refused by name.
	if alg != seal.EdDSA && alg != seal.ES256 {
		return Caller{}, refuse(AuthAlgorithm, "alg %q", alg)
	}
	kid, err := jwsbb.HeaderGetString(h, "kid")
	if err != nil {
		return Caller{}, refuse(AuthMalformed, "no kid")
	}
	key, err := a.store.SigningKey(kid)
	switch {
	case errors.Is(err, seal.ErrRevokedKey):
		return Caller{}, refuse(AuthRevoked, "key %s", kid)
	case err != nil:
		return Caller{}, refuse(AuthUnknownKey, "key %s", kid)
	case key.Alg != alg:
		return Caller{}, refuse(AuthAlgorithm, "key %s is %s, token says %s", kid, key.Alg, alg)
	}
	sa, _ := jwa.LookupSignatureAlgorithm(alg)
	// The compact fast path, as jwt.Parse takes it: it refuses a crit
	// header, which no member's token has reason to carry.
	claimBytes, err := jws.VerifyCompactFast(key.Public, token, sa)
	if err != nil {
		return Caller{}, refuse(AuthBadSignature, "%v", err)
	}
	c, err := parseClaims(claimBytes)
	if err != nil {
		return Caller{}, err
	}
	now := a.now()
	switch {
	case c.iss != key.Member || c.sub != key.Member:
		return Caller{}, refuse(AuthIssuer, "iss %q and sub %q, the key is %s's", c.iss, c.sub, key.Member)
	case !slices.Contains(c.aud, a.audience):
		return Caller{}, refuse(AuthAudience, "aud %v, this gateway is %s", c.aud, a.audience)
	case !c.exp.After(c.iat):
		return Caller{}, refuse(AuthLifetime, "exp %s is not after iat %s", c.exp.UTC().Format(time.RFC3339), c.iat.UTC().Format(time.RFC3339))
	case c.exp.Sub(c.iat) > MaxTokenTTL:
		return Caller{}, refuse(AuthLifetime, "exp is %s after iat, at most %s", c.exp.Sub(c.iat), MaxTokenTTL)
	case !now.Before(c.exp.Add(Skew)):
		return Caller{}, refuse(AuthExpired, "expired at %s", c.exp.UTC().Format(time.RFC3339))
	case c.iat.After(now.Add(Skew)):
		return Caller{}, refuse(AuthNotYetValid, "issued at %s, in the future", c.iat.UTC().Format(time.RFC3339))
	case !c.nbf.IsZero() && c.nbf.After(now.Add(Skew)):
		return Caller{}, refuse(AuthNotYetValid, "not before %s", c.nbf.UTC().Format(time.RFC3339))
	}
	m, err := a.store.Current().Member(key.Member)
	if err != nil {
		return Caller{}, err
	}
	caller := Caller{Member: m, KeyID: kid, TokenID: TokenID(c.iss, c.jti), Expiry: c.exp, Confirmation: c.cnf}
	if over != nil {
		// Before the token is spent: a bound token stolen and sent
		// without its certificate must not use it up for its owner.
		if err := caller.CheckCertificate(over.Cert); err != nil {
			return caller, err
		}
	}
	if !a.remember(caller.TokenID, c.exp.Add(Skew), now) || (a.logged != nil && a.logged(caller.TokenID)) {
		return caller, refuse(AuthReplayed, "jti %s already used", c.jti)
	}
	return caller, nil
}

var strictB64 = base64.RawURLEncoding.Strict()

type claims struct {
	iss, sub, jti string
	cnf           string // x5t#S256
	aud           []string
	iat, exp, nbf time.Time
}

// parseClaims reads a verified payload strictly: iss, sub and jti
// strings, aud a string or an array of strings, iat, exp (and nbf)
// numbers; iat, exp and jti required.
func parseClaims(raw []byte) (claims, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var cs claimSet
	if err := dec.Decode(&cs); err != nil {
		return claims{}, refuse(AuthMalformed, "claims: %v", err)
	}
	if dec.More() {
		return claims{}, refuse(AuthMalformed, "claims: trailing data")
	}
	c := claims{iss: cs.Iss, sub: cs.Sub, jti: cs.Jti}
	if cs.Iat == nil || cs.Exp == nil || cs.Jti == "" {
		return claims{}, refuse(AuthMissingClaims, "iat, exp and jti are required")
	}
	for _, d := range []struct {
		n   json.RawMessage
		out *time.Time
		at  string
	}{{cs.Iat, &c.iat, "iat"}, {cs.Exp, &c.exp, "exp"}, {cs.Nbf, &c.nbf, "nbf"}} {
		if d.n == nil {
			continue
		}
		// A JSON number, not a string holding one (json.Number takes both).
		f, err := strconv.ParseFloat(string(d.n), 64)
		if err != nil || f < 0 || f > maxNumericDate {
			return claims{}, refuse(AuthMalformed, "%s is not a date", d.at)
		}
		*d.out = time.Unix(0, 0).Add(time.Duration(f * float64(time.Second)))
	}
	if cs.Cnf != nil {
		x5t, err := parseCnf(cs.Cnf)
		if err != nil {
			return claims{}, err
		}
		c.cnf = x5t
	}
	switch aud := bytes.TrimSpace(cs.Aud); {
	case len(aud) == 0:
	case aud[0] == '"':
		var s string
		if err := json.Unmarshal(aud, &s); err != nil {
			return claims{}, refuse(AuthMalformed, "aud: %v", err)
		}
		c.aud = []string{s}
	default:
		if err := json.Unmarshal(aud, &c.aud); err != nil {
			return claims{}, refuse(AuthMalformed, "aud is neither a string nor strings")
		}
	}
	return c, nil
}

// parseCnf reads a cnf claim (RFC 7800) holding an x5t#S256 (RFC 8705):
// a cnf with only other confirmation methods is refused, not ignored,
// since the gateway cannot hold the caller to what it does not check.
func parseCnf(raw json.RawMessage) (string, error) {
	var cnf map[string]json.RawMessage
	if err := json.Unmarshal(raw, &cnf); err != nil || cnf == nil {
		return "", refuse(AuthMalformed, "cnf is not an object")
	}
	v, ok := cnf["x5t#S256"]
	if !ok {
		return "", refuse(AuthMalformed, "cnf holds no x5t#S256, the one confirmation method this gateway checks")
	}
	var x5t string
	if err := json.Unmarshal(v, &x5t); err != nil {
		return "", refuse(AuthMalformed, "cnf x5t#S256 is not a string")
	}
	if b, err := strictB64.DecodeString(x5t); err != nil || len(b) != 32 {
		return "", refuse(AuthMalformed, "cnf x5t#S256 is not a base64url SHA-256")
	}
	return x5t, nil
}

// maxNumericDate bounds dates so that they fit a time.Duration from 1970:
// the year 2262.
const maxNumericDate = 9.2e9

type seenID struct {
	id    string
	until time.Time
}

// remember records a jti until it could no longer be valid; false if it was
// already there. Scanning the whole map for expired ids, as this once did
// past 4,096 of them, made every request pay for all the tokens of the
// last five minutes: 2,200 views/s fell to 500 within a minute.
func (a *Authenticator) remember(id string, until, now time.Time) bool {
	sh := &a.shards[shardOf(id)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for len(sh.order) > 0 && !now.Before(sh.order[0].until) {
		old := sh.order[0]
		if t, ok := sh.seen[old.id]; ok && t.Equal(old.until) {
			delete(sh.seen, old.id)
		}
		sh.order[0] = seenID{}
		sh.order = sh.order[1:]
	}
	if t, ok := sh.seen[id]; ok && now.Before(t) {
		return false
	}
	sh.seen[id] = until
	sh.order = append(sh.order, seenID{id, until})
	return true
}

func shardOf(id string) int {
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return int(h % replayShards)
}

// remembered is how many token ids are held against replay.
func (a *Authenticator) remembered() int {
	n := 0
	for i := range a.shards {
		sh := &a.shards[i]
		sh.mu.Lock()
		n += len(sh.seen)
		sh.mu.Unlock()
	}
	return n
}
