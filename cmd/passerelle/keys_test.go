package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb strings.Builder
	if code := run(context.Background(), args, &out, &errb); code != exitOK {
		t.Fatalf("passerelle %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

func TestKeysPublishAndToken(t *testing.T) {
	data := t.TempDir()
	d := datadir.Dir(data)
	mustRun(t, "keys", "gen", "--data", data, "--member", "dgfip")
	mustRun(t, "keys", "gen", "--data", data, "--member", "cnil", "--alg", "ES256")
	os.MkdirAll(filepath.Dir(d.MemberSpecs()), 0o755)
	os.WriteFile(d.MemberSpecs(), []byte("- {id: dgfip, name: DGFiP, roles: [reader, publisher:tax]}\n- {id: cnil, name: CNIL, roles: [auditor]}\n"), 0o644)
	if out := mustRun(t, "keys", "publish", "--data", data); !strings.Contains(out, "serial 1") {
		t.Fatalf("publish: %s", out)
	}
	// A second gen for the same member is refused; rotate is the way.
	if code := run(context.Background(), []string{"keys", "gen", "--data", data, "--member", "dgfip"}, io.Discard, io.Discard); code != exitFail {
		t.Fatalf("second gen: exit %d", code)
	}
	mustRun(t, "keys", "rotate", "--data", data, "--member", "dgfip")
	if out := mustRun(t, "keys", "publish", "--data", data); !strings.Contains(out, "serial 2") {
		t.Fatalf("publish after rotate: %s", out)
	}
	if jwks := mustRun(t, "keys", "jwks", "--data", data, "--member", "dgfip"); strings.Count(jwks, `"kid"`) != 2 {
		t.Fatalf("after rotation the JWKS should hold both keys: %s", jwks)
	}

	tok := strings.TrimSpace(mustRun(t, "token", "--data", data, "--member", "dgfip", "--ttl", "2m"))
	anchor, err := trust.LoadAnchor(d.GovernancePublic())
	if err != nil {
		t.Fatal(err)
	}
	store, err := trust.Open(d.MembersDoc(), d.MembersSig(), anchor, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := store.Current().Member("dgfip")
	parsed, err := jwt.Parse([]byte(tok), jwt.WithKeySet(m.JWKS()), jwt.WithAudience(DefaultGatewayID), jwt.WithIssuer("dgfip"), jwt.WithSubject("dgfip"))
	if err != nil {
		t.Fatalf("token does not verify against the published JWKS: %v", err)
	}
	exp, _ := parsed.Expiration()
	if d := time.Until(exp); d > 2*time.Minute || d < time.Minute {
		t.Fatalf("exp in %s, want about 2m", d)
	}
	if _, ok := parsed.JwtID(); !ok {
		t.Fatal("no jti")
	}
	if code := run(context.Background(), []string{"token", "--data", data, "--member", "dgfip", "--ttl", "10m"}, io.Discard, io.Discard); code != exitFail {
		t.Fatalf("a 10-minute token was minted (exit %d)", code)
	}
}
