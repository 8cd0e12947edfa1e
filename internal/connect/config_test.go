package connect_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/config"
	"github.com/passerelle-bus/passerelle/internal/connect"
)

// Every secret of a connector's file is ${VAR} or file:PATH, and a refusal
// names the field.
func TestConfigSecrets(t *testing.T) {
	t.Setenv("PASSERELLE_TEST_SECRET", "hunter2")
	t.Setenv("PASSERELLE_TEST_URL", "postgres://u:hunter2@db:5432/tax")
	t.Setenv("PASSERELLE_TEST_URL_NOPW", "postgres://u@db:5432/tax")
	open := filepath.Join(t.TempDir(), "token")
	os.WriteFile(open, []byte("s.token\n"), 0o600)
	os.Chmod(open, 0o644)
	const head = "member: dgfip\ndomain: tax\ndata: /d\nkafka:\n  brokers: [\"k:9092\"]\n"
	const pgx = "source:\n  driver: pgx\n  dsn: postgres://u@db:5432/tax\n"
	for _, tc := range []struct{ name, yaml, err string }{
		{"password from env", head + pgx + "  password: ${PASSERELLE_TEST_SECRET}\n", ""},
		{"no password (PGPASSWORD, .pgpass)", head + pgx, ""},
		{"whole dsn from env, no password", head + "source:\n  driver: pgx\n  dsn: ${PASSERELLE_TEST_URL_NOPW}\n", ""},
		{"sasl", head + "  sasl: {mechanism: PLAIN, username: u, password: \"${PASSERELLE_TEST_SECRET}\"}\n" + pgx, ""},
		{"vault", head + pgx + "vault:\n  address: http://v:8200\n  token: ${PASSERELLE_TEST_SECRET}\n  sign_key: k\n", ""},

		{"password in the dsn", head + "source:\n  driver: pgx\n  dsn: postgres://u:hunter2@db:5432/tax\n", "source.dsn: holds a password"},
		{"password in a dsn default", head + "source:\n  driver: pgx\n  dsn: ${PASSERELLE_UNSET_URL:postgres://u:hunter2@db/tax}\n", "source.dsn: holds a password"},
		{"password in a dsn from env", head + "source:\n  driver: pgx\n  dsn: ${PASSERELLE_TEST_URL}\n", "source.dsn: holds a password"},
		{"password in the query", head + "source:\n  driver: pgx\n  dsn: postgres://u@db/tax?password=hunter2\n", "source.dsn: holds a password"},
		{"password keyword", head + "source:\n  driver: pgx\n  dsn: host=db user=u password=hunter2\n", "source.dsn: holds a password"},
		{"password literal", head + pgx + "  password: hunter2\n", "source.password: a secret must be"},
		{"password with sqlite", head + "source:\n  driver: sqlite\n  dsn: /tmp/x.db\n  password: ${PASSERELLE_TEST_SECRET}\n", "source.password: driver \"sqlite\" takes none"},
		{"sasl literal", head + "  sasl: {mechanism: PLAIN, username: u, password: hunter2}\n" + pgx, "kafka.sasl.password: a secret must be"},
		{"sasl default", head + "  sasl: {mechanism: PLAIN, username: u, password: \"${PASSERELLE_UNSET:hunter2}\"}\n" + pgx, "kafka.sasl.password: a secret's ${VAR} takes no default"},
		{"vault literal", head + pgx + "vault:\n  address: http://v:8200\n  token: hunter2\n  sign_key: k\n", "vault.token: a secret must be"},
		{"vault without token", head + pgx + "vault:\n  address: http://v:8200\n  sign_key: k\n", "vault.token: required"},
		{"vault token readable by others", head + pgx + "vault:\n  address: http://v:8200\n  token: file:" + open + "\n  sign_key: k\n", "vault.token: " + open + " has mode 0644"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg connect.Config
			err := config.Decode([]byte(tc.yaml), &cfg)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want %q", err, tc.err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the error shows the secret: %v", err)
			}
		})
	}
}

func TestSQLSource(t *testing.T) {
	for _, tc := range []struct{ in, dsn, password string }{
		{"postgres://u:p%40ss@db:5432/tax?sslmode=disable", "postgres://u@db:5432/tax?sslmode=disable", "p@ss"},
		{"postgres://u@db/tax", "postgres://u@db/tax", ""},
		{"/tmp/tax.sqlite", "/tmp/tax.sqlite", ""},
	} {
		s := connect.SQLSource("pgx", tc.in)
		if s.DSN != tc.dsn || s.Password.Value() != tc.password {
			t.Errorf("%s: got %s %q", tc.in, s.DSN, s.Password.Value())
		}
	}
}

// Whatever the DSN, SQLSource leaves no password in it that Validate
// would refuse, or the DSN is one url.Parse cannot read.
func FuzzSQLSource(f *testing.F) {
	for _, s := range []string{"postgres://u:p@h/db", "postgres://u@h/db?password=x", "host=h password=p", "postgres://u:p@h:x/db", "/x.db"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		s := connect.SQLSource("pgx", dsn)
		if s.Password.IsZero() {
			return
		}
		cfg := connect.Config{Member: "m", Domain: "tax", Data: "/d", Source: s}
		if err := cfg.Validate(); err != nil && strings.Contains(err.Error(), "source.dsn") && !strings.Contains(dsn, "password") {
			t.Fatalf("%q → %q still holds a password: %v", dsn, s.DSN, err)
		}
	})
}
