package config_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/passerelle-bus/passerelle/internal/config"
)

type sasl struct {
	Username string        `yaml:"username"`
	Password config.Secret `yaml:"password"`
}

type inner struct {
	Token config.Secret `yaml:"token"`
}

type withSecrets struct {
	Host  string `yaml:"host"`
	Kafka struct {
		SASL *sasl `yaml:"sasl"`
	} `yaml:"kafka"`
	Vault struct {
		inner `yaml:",inline"`
		Mount string `yaml:"mount"`
	} `yaml:"vault"`
	Keys  []config.Secret          `yaml:"keys"`
	Named map[string]config.Secret `yaml:"named"`
}

// secretFile writes a file of the given mode holding text.
func secretFile(t *testing.T, text string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // WriteFile's mode is masked by umask
		t.Fatal(err)
	}
	return p
}

func TestSecretForms(t *testing.T) {
	t.Setenv("PASSERELLE_TEST_PW", "hunter2")
	t.Setenv("PASSERELLE_TEST_EMPTY", "")
	t.Setenv("PASSERELLE_TEST_HOST", "kafka-1")
	file := secretFile(t, "from-file\n", 0o600)
	t.Setenv("PASSERELLE_TEST_DIR", filepath.Dir(file))
	for _, tc := range []struct {
		name, yaml string
		want       func(*withSecrets) string // the secret the case sets
		wantValue  string
		err        string // "" accepts
	}{
		{"env", "kafka:\n  sasl:\n    password: ${PASSERELLE_TEST_PW}\n", pw, "hunter2", ""},
		{"env quoted", "kafka:\n  sasl:\n    password: \"${PASSERELLE_TEST_PW}\"\n", pw, "hunter2", ""},
		{"file", "kafka:\n  sasl:\n    password: file:" + file + "\n", pw, "from-file", ""},
		{"file path from env", "kafka:\n  sasl:\n    password: file:${PASSERELLE_TEST_DIR}/secret\n", pw, "from-file", ""},
		{"file path default", "kafka:\n  sasl:\n    password: file:${PASSERELLE_UNSET_D:" + filepath.Dir(file) + "}/secret\n", pw, "from-file", ""},
		{"absent", "host: h\n", host, "h", ""},
		{"null", "kafka:\n  sasl:\n    password:\n", pw, "", ""},
		{"empty", "kafka:\n  sasl:\n    password: \"\"\n", pw, "", ""},
		{"inline struct", "vault:\n  token: ${PASSERELLE_TEST_PW}\n", token, "hunter2", ""},
		{"list", "keys: [\"${PASSERELLE_TEST_PW}\", \"file:" + file + "\"]\n", key1, "from-file", ""},
		{"map", "named:\n  a: ${PASSERELLE_TEST_PW}\n", named, "hunter2", ""},
		{"other fields still expand", "host: ${PASSERELLE_TEST_HOST}\nkafka:\n  sasl:\n    password: ${PASSERELLE_TEST_PW}\n", host, "kafka-1", ""},
		{"through an alias", "keys: [&k \"${PASSERELLE_TEST_PW}\", *k]\n", key1, "hunter2", ""},

		{"literal", "kafka:\n  sasl:\n    password: hunter2\n", nil, "", "kafka.sasl.password: a secret must be ${VAR} or file:PATH"},
		{"literal number", "kafka:\n  sasl:\n    password: 1234\n", nil, "", "kafka.sasl.password: a secret must be"},
		{"literal with a reference", "kafka:\n  sasl:\n    password: pre${PASSERELLE_TEST_PW}\n", nil, "", "kafka.sasl.password: a secret must be"},
		{"two references", "kafka:\n  sasl:\n    password: ${PASSERELLE_TEST_PW}${PASSERELLE_TEST_PW}\n", nil, "", "kafka.sasl.password: a secret must be"},
		{"default", "kafka:\n  sasl:\n    password: ${PASSERELLE_UNSET_PW:hunter2}\n", nil, "", "kafka.sasl.password: a secret's ${VAR} takes no default"},
		{"default though set", "kafka:\n  sasl:\n    password: ${PASSERELLE_TEST_PW:hunter2}\n", nil, "", "kafka.sasl.password: a secret's ${VAR} takes no default"},
		{"empty default", "kafka:\n  sasl:\n    password: ${PASSERELLE_UNSET_PW:}\n", nil, "", "kafka.sasl.password: a secret's ${VAR} takes no default"},
		{"unset", "kafka:\n  sasl:\n    password: ${PASSERELLE_UNSET_PW}\n", nil, "", "kafka.sasl.password (line 3): environment variable PASSERELLE_UNSET_PW is not set"},
		{"set empty", "kafka:\n  sasl:\n    password: ${PASSERELLE_TEST_EMPTY}\n", nil, "", "kafka.sasl.password: environment variable PASSERELLE_TEST_EMPTY is empty"},
		{"a mapping", "kafka:\n  sasl:\n    password: {file: /x}\n", nil, "", "kafka.sasl.password: a secret must be"},
		{"file missing", "kafka:\n  sasl:\n    password: file:/nonexistent/passerelle\n", nil, "", "kafka.sasl.password: read secret file"},
		{"file empty path", "kafka:\n  sasl:\n    password: \"file:\"\n", nil, "", "kafka.sasl.password: file: the path is empty"},
		{"inline literal", "vault:\n  token: s.abcdef\n", nil, "", "vault.token: a secret must be"},
		{"list literal", "keys: [\"${PASSERELLE_TEST_PW}\", x]\n", nil, "", "keys[1]: a secret must be"},
		{"map literal", "named:\n  a: x\n", nil, "", "named.a: a secret must be"},
		{"literal through an alias", "keys: [\"${PASSERELLE_TEST_PW}\", &k x, *k]\n", nil, "", "keys[1]: a secret must be"},
		{"merged literal", "kafka:\n  sasl:\n    <<: {password: hunter2}\n    username: u\n", nil, "", "kafka.sasl.password: a secret must be"},
		{"redacted mask", "kafka:\n  sasl:\n    password: '[redacted]'\n", nil, "", "kafka.sasl.password: a secret must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got withSecrets
			err := config.Decode([]byte(tc.yaml), &got)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("the error shows the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v := tc.want(&got); v != tc.wantValue {
				t.Fatalf("got %q, want %q", v, tc.wantValue)
			}
		})
	}
}

func pw(c *withSecrets) string    { return c.Kafka.SASL.Password.Value() }
func token(c *withSecrets) string { return c.Vault.Token.Value() }
func key1(c *withSecrets) string  { return c.Keys[1].Value() }
func named(c *withSecrets) string { return c.Named["a"].Value() }
func host(c *withSecrets) string  { return c.Host }

// Only the file's owner may read a secret file; a symlink is judged by
// its target, the file that is read.
func TestSecretFileModes(t *testing.T) {
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o600, true}, {0o400, true}, {0o700, true},
		{0o644, false}, {0o640, false}, {0o604, false}, {0o660, false}, {0o444, false},
	} {
		for _, link := range []bool{false, true} {
			t.Run(fmt.Sprintf("%04o link=%v", tc.mode, link), func(t *testing.T) {
				p := secretFile(t, "s3cret\r\n", tc.mode)
				if link {
					l := filepath.Join(t.TempDir(), "link")
					if err := os.Symlink(p, l); err != nil {
						t.Fatal(err)
					}
					p = l
				}
				var got withSecrets
				err := config.Decode([]byte("vault:\n  token: file:"+p+"\n"), &got)
				switch {
				case tc.ok && (err != nil || got.Vault.Token.Value() != "s3cret"):
					t.Fatalf("got %q, %v", got.Vault.Token.Value(), err)
				case !tc.ok && !errors.Is(err, config.ErrSecretFileMode):
					t.Fatalf("got %v, want %v", err, config.ErrSecretFileMode)
				case !tc.ok && !strings.HasPrefix(err.Error(), "vault.token: ") || !tc.ok && !strings.Contains(err.Error(), fmt.Sprintf("%04o", tc.mode)):
					t.Fatalf("the error names neither field nor mode: %v", err)
				}
			})
		}
	}
}

func TestSecretFileContent(t *testing.T) {
	for _, tc := range []struct{ name, text, want, err string }{
		{"one newline dropped", "a\n", "a", ""},
		{"only one", "a\n\n", "a\n", ""},
		{"crlf", "a\r\n", "a", ""},
		{"none", "a", "a", ""},
		{"spaces kept", " a ", " a ", ""},
		{"empty", "", "", "empty"},
		{"a newline only", "\n", "", "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got withSecrets
			err := config.Decode([]byte("vault:\n  token: file:"+secretFile(t, tc.text, 0o600)+"\n"), &got)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got.Vault.Token.Value() != tc.want {
				t.Fatalf("got %q, %v", got.Vault.Token.Value(), err)
			}
		})
	}
	t.Run("a directory", func(t *testing.T) {
		dir := t.TempDir()
		os.Chmod(dir, 0o700)
		var got withSecrets
		if err := config.Decode([]byte("vault:\n  token: file:"+dir+"\n"), &got); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("got %v", err)
		}
	})
}

// A configuration printed, logged or marshalled whole never shows a secret.
func TestSecretRedacted(t *testing.T) {
	const secret = "hunter2"
	cfg := withSecrets{Host: "h", Keys: []config.Secret{config.SecretValue(secret)}, Named: map[string]config.Secret{"a": config.SecretValue(secret)}}
	cfg.Kafka.SASL = &sasl{Username: "u", Password: config.SecretValue(secret)}
	cfg.Vault.Token = config.SecretValue(secret)
	hidden := struct{ s config.Secret }{config.SecretValue(secret)} // where fmt may not call Format

	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("t", "cfg", cfg, "pw", cfg.Vault.Token, "sasl", cfg.Kafka.SASL)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("t", "cfg", cfg, "pw", cfg.Vault.Token, "sasl", cfg.Kafka.SASL)
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v", cfg), "%+v": fmt.Sprintf("%+v", cfg), "%#v": fmt.Sprintf("%#v", cfg),
		"%s": fmt.Sprintf("%s", cfg.Vault.Token), "%q": fmt.Sprintf("%q", cfg.Vault.Token), "%x": fmt.Sprintf("%x", cfg.Vault.Token),
		"%+v of *sasl": fmt.Sprintf("%+v", cfg.Kafka.SASL), "unexported field": fmt.Sprintf("%+v", hidden),
		"String": cfg.Vault.Token.String(), "slog": logs.String(), "yaml": string(y), "json": string(j),
	} {
		if strings.Contains(out, secret) || strings.Contains(out, fmt.Sprintf("%x", secret)) {
			t.Errorf("%s shows the secret: %s", name, out)
		}
		if name != "unexported field" && !strings.Contains(out, "[redacted]") && !strings.Contains(out, fmt.Sprintf("%x", "[redacted]")) {
			t.Errorf("%s does not say a secret is set: %s", name, out)
		}
	}
	// A configuration marshalled back to a file is refused, not loaded
	// with the mask as its password.
	var back withSecrets
	if err := config.Decode(y, &back); !errors.Is(err, config.ErrSecretLiteral) {
		t.Fatalf("the marshalled config loads: %v", err)
	}
	if s := fmt.Sprint(config.Secret{}, config.SecretValue("")); s != " " {
		t.Fatalf("an unset secret prints %q", s)
	}
}

func TestSecretByCode(t *testing.T) {
	if s := config.SecretValue("x"); s.Value() != "x" || s.IsZero() {
		t.Fatal(s.Value())
	}
	if s := config.SecretValue(""); !s.IsZero() || s.Value() != "" {
		t.Fatal("empty is no secret")
	}
	// yaml.Unmarshal alone cannot see how the value was written: it sets
	// nothing rather than take a literal.
	var c withSecrets
	if err := yaml.Unmarshal([]byte("vault:\n  token: hunter2\n"), &c); err != nil || !c.Vault.Token.IsZero() {
		t.Fatalf("got %v %v", c.Vault.Token.Value(), err)
	}
}

func FuzzSecretForm(f *testing.F) {
	for _, s := range []string{"${A}", "${A:b}", "${A:}", "file:/x", "file:", "a${A}", "${A}${B}", "", "[redacted]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var c withSecrets
		doc, err := yaml.Marshal(map[string]any{"vault": map[string]string{"token": text}})
		if err != nil {
			return
		}
		err = config.Decode(doc, &c)
		// Only the two forms give a secret; anything else is an error
		// or, empty, no secret.
		if err == nil && !c.Vault.Token.IsZero() && !strings.HasPrefix(text, "${") && !strings.HasPrefix(text, "file:") {
			t.Fatalf("%q accepted as a secret", text)
		}
	})
}
