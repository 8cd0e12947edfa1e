package connect_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/passerelle-bus/passerelle/internal/connect"
)

// pgxPassword is the password pgx itself reads from dsn, with the
// environment's and .pgpass's out of the way: the oracle the DSN check
// must agree with, since pgx is what opens the source.
func pgxPassword(t testing.TB, dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return ""
	}
	return cfg.Password
}

func noPGEnv(t *testing.T) {
	t.Setenv("PGPASSWORD", "")
	t.Setenv("PGPASSFILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("PGSERVICEFILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("PGSERVICE", "")
}

func dsnRefused(dsn string) error {
	cfg := connect.Config{Member: "dgfip", Domain: "tax", Data: "/d", Source: connect.SourceConfig{Driver: "pgx", DSN: dsn}}
	cfg.Kafka.Brokers = []string{"k:9092"}
	return cfg.Validate()
}

// Attacks on "a DSN never holds the database password": every spelling of
// a password pgx (libpq's grammar, not net/url's) would read from the DSN
// itself, and sslpassword, the client key's passphrase.
func TestDSNAttackPasswordSpellings(t *testing.T) {
	noPGEnv(t)
	for _, tc := range []struct{ name, dsn string }{
		{"userinfo", "postgres://u:hunter2@db/tax"},
		{"userinfo empty user", "postgres://:hunter2@db/tax"},
		{"userinfo percent-encoded", "postgres://u:%68unter2@db/tax"},
		{"userinfo postgresql scheme", "postgresql://u:hunter2@db/tax"},
		{"userinfo with @ inside", "postgres://u:hun@ter2@db/tax"},
		{"userinfo multi-host", "postgres://u:hunter2@db1:5432,db2:5432/tax"},
		{"userinfo with ? (libpq stops only at /)", "postgres://u:hunter2?@db/tax"},
		{"userinfo with #", "postgres://u:hunter2#@db/tax"},
		{"query", "postgres://u@db/tax?password=hunter2"},
		{"query percent-encoded key", "postgres://u@db/tax?pass%77ord=hunter2"},
		{"query key with a space", "postgres://u@db/tax? password=hunter2"},
		{"query key with a trailing space", "postgres://u@db/tax?password =hunter2"},
		{"query after a ;", "postgres://u@db/tax?sslmode=disable;&password=hunter2"},
		{"query without a path", "postgres://u@db?password=hunter2"},
		{"keyword", "host=db user=u password=hunter2"},
		{"keyword first", "password=hunter2 host=db"},
		{"keyword spaces around =", "host=db password = hunter2"},
		{"keyword quoted", "host=db password='hunter2'"},
		{"keyword after a quoted value", "host='db'password=hunter2"},
		{"keyword after a vertical tab", "host=db\vpassword=hunter2"},
		{"keyword with a :// elsewhere", "host=db password=hunter2 application_name=x://y"},
		{"keyword with a :// and a path", "host=db password=hunter2 application_name=x/://y"},
		{"keyword with userinfo-like text", "host=db password=hunter2 options=a://b:c@d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := dsnRefused(tc.dsn)
			if err == nil || !strings.Contains(err.Error(), "source.dsn: holds a password") {
				t.Fatalf("%q (pgx reads password %q): got %v", tc.dsn, pgxPassword(t, tc.dsn), err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the error shows the secret: %v", err)
			}
		})
	}
	// sslpassword decrypts the client key: a secret in clear as much as
	// the password is.
	for _, dsn := range []string{
		"host=db sslkey=/k.pem sslpassword=hunter2",
		"postgres://u@db/tax?sslkey=/k.pem&sslpassword=hunter2",
	} {
		if err := dsnRefused(dsn); err == nil {
			t.Errorf("%q: sslpassword accepted", dsn)
		}
	}
}

// DSNs with no password stay accepted.
func TestDSNAttackNoFalseAlarm(t *testing.T) {
	for _, dsn := range []string{
		"postgres://u@db:5432/tax?sslmode=verify-full",
		"postgres://u@db1:5432,db2:5432/tax",
		"host=db user=u dbname=tax sslmode=require",
		"host=db user=passerelle application_name=connector-tax",
		"/var/lib/passerelle/tax.sqlite",
	} {
		if err := dsnRefused(dsn); err != nil {
			t.Errorf("%q: %v", dsn, err)
		}
	}
}

// Whatever the DSN, if pgx reads a password from it, Validate refuses it.
func FuzzDSNHasPassword(f *testing.F) {
	for _, s := range []string{"postgres://u:p@h/db", "postgres://u:p?@h/db", "host='h'password=p", "host=h\vpassword=p", "postgres://u@h/db?%20password=p", "host=h password=p a=x://"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		if pgxPassword(t, dsn) == "" {
			return
		}
		if err := dsnRefused(dsn); err == nil {
			t.Fatalf("%q: pgx reads a password from it, Validate accepts it", dsn)
		}
	})
}
