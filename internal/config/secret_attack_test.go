package config_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/config"
)

// Attacks on the rule that a secret is ${VAR} or file:PATH, never a
// literal: YAML's own means (tags, anchors, merge keys, block scalars,
// several documents) to smuggle a literal into a Secret, and file paths
// that are not the 0600 regular file the rule reads.
func TestSecretAttackYAMLSmuggling(t *testing.T) {
	t.Setenv("PASSERELLE_TEST_PW", "hunter3")
	const literal = "hunter2"
	for _, tc := range []struct{ name, yaml string }{
		{"str tag", "kafka:\n  sasl:\n    password: !!str hunter2\n"},
		{"binary tag", "kafka:\n  sasl:\n    password: !!binary aHVudGVyMg==\n"},
		{"custom tag file", "kafka:\n  sasl:\n    password: !file hunter2\n"},
		{"local tag env", "kafka:\n  sasl:\n    password: !env hunter2\n"},
		{"block literal", "kafka:\n  sasl:\n    password: |\n      hunter2\n"},
		{"folded reference and literal", "kafka:\n  sasl:\n    password: >\n      ${PASSERELLE_TEST_PW}\n      hunter2\n"},
		{"anchor on a plain field", "host: &h hunter2\nkafka:\n  sasl:\n    password: *h\n"},
		{"merge from an anchor", "base: &b {password: hunter2}\nkafka:\n  sasl:\n    <<: *b\n"},
		{"second merge key literal", "kafka:\n  sasl:\n    <<: {username: u}\n    <<: {password: hunter2}\n"},
		{"merge list literal last", "kafka:\n  sasl:\n    <<: [{username: u}, {password: hunter2}]\n"},
		{"quoted key", "kafka:\n  sasl:\n    \"password\": hunter2\n"},
		{"explicit key", "kafka:\n  sasl:\n    ? password\n    : hunter2\n"},
		{"tagged key", "kafka:\n  sasl:\n    !!str password: hunter2\n"},
		{"flow mapping", "kafka: {sasl: {password: hunter2}}\n"},
		{"list item", "keys: [hunter2]\n"},
		{"map item with odd key", "named:\n  \"${PASSERELLE_TEST_PW}\": hunter2\n"},
		{"file prefix upper case", "kafka:\n  sasl:\n    password: FILE:/x\n"},
		{"env with spaces", "kafka:\n  sasl:\n    password: ' ${PASSERELLE_TEST_PW}'\n"},
		{"env then newline", "kafka:\n  sasl:\n    password: \"${PASSERELLE_TEST_PW}\\nhunter2\"\n"},
		{"dollar escape", "kafka:\n  sasl:\n    password: $${PASSERELLE_TEST_PW}\n"},
		{"nested default", "kafka:\n  sasl:\n    password: ${PASSERELLE_UNSET_PW:${PASSERELLE_TEST_PW}}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got withSecrets
			err := config.Decode([]byte(tc.yaml), &got)
			if err != nil {
				if strings.Contains(err.Error(), literal) {
					t.Fatalf("the error shows the literal: %v", err)
				}
				return
			}
			// Accepted: then no Secret may hold the literal.
			for _, s := range allSecrets(&got) {
				if strings.Contains(s.Value(), literal) {
					t.Fatalf("a literal was taken as a secret: %q", s.Value())
				}
			}
		})
	}
}

func allSecrets(c *withSecrets) []config.Secret {
	out := append([]config.Secret{c.Vault.Token}, c.Keys...)
	if c.Kafka.SASL != nil {
		out = append(out, c.Kafka.SASL.Password)
	}
	for _, s := range c.Named {
		out = append(out, s)
	}
	return out
}

// A literal under a tag YAML cannot apply is refused by the decoder, whose
// error quotes the text: the file holds it in clear already, and it is
// refused, never used.
func TestSecretAttackBadTag(t *testing.T) {
	for _, tag := range []string{"!!null", "!!int", "!!bool", "!!timestamp"} {
		var got withSecrets
		err := config.Decode([]byte("kafka:\n  sasl:\n    password: "+tag+" hunter2\n"), &got)
		if err == nil && got.Kafka.SASL != nil && !got.Kafka.SASL.Password.IsZero() {
			t.Fatalf("%s: a literal was taken as a secret", tag)
		}
	}
}

// A file: path must reach a 0600 regular file however it is spelt: a
// chain of symlinks (Kubernetes' ..data) to a 0644 file, a symlink to a
// directory, a FIFO, a device, /dev/stdin.
func TestSecretAttackFilePaths(t *testing.T) {
	dir := t.TempDir()
	open := secretFile(t, "hunter2", 0o644)
	link1, link2 := filepath.Join(dir, "l1"), filepath.Join(dir, "l2")
	if err := os.Symlink(open, link1); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(link1, link2); err != nil {
		t.Fatal(err)
	}
	// A 0600 file reached through a directory path whose last link is the
	// 0644 one: the file read is what counts.
	kdir := filepath.Join(dir, "..2024_01")
	if err := os.Mkdir(kdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(open, filepath.Join(kdir, "pw")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(kdir, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PASSERELLE_TEST_DIR", dir)
	for _, tc := range []struct{ name, path, err string }{
		{"symlink chain to 0644", link2, "mode 0644"},
		{"kubernetes ..data to 0644", filepath.Join(dir, "..data", "pw"), "mode 0644"},
		{"path from a default", "${PASSERELLE_UNSET_D:" + dir + "}/l2", "mode 0644"},
		{"dot dot", filepath.Join(dir, "..data", "..", "l2"), "mode 0644"},
		{"dev null", "/dev/null", "not a regular file"},
		{"dev stdin", "/dev/stdin", ""},
		{"proc dir", "/proc/self", "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got withSecrets
			err := config.Decode([]byte("vault:\n  token: file:"+tc.path+"\n"), &got)
			if err == nil {
				t.Fatalf("accepted %s as a secret file: %q", tc.path, got.Vault.Token.Value())
			}
			if tc.err != "" && !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want %q", err, tc.err)
			}
			if tc.err == "mode 0644" && !errors.Is(err, config.ErrSecretFileMode) {
				t.Fatalf("got %v, want %v", err, config.ErrSecretFileMode)
			}
		})
	}
}

// A FIFO named as a secret file: opening one for reading blocks until a
// writer comes, so a configuration naming one would hang the process at
// start instead of refusing it. It must be refused, and at once.
func TestSecretAttackFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		var got withSecrets
		done <- config.Decode([]byte("vault:\n  token: file:"+fifo+"\n"), &got)
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("got %v, want not a regular file", err)
		}
	case <-ctx.Done():
		// Unblock the goroutine before failing.
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		t.Fatal("Decode blocks on a FIFO named as a secret file")
	}
	if _, err := config.SecretFile(fifo); err == nil {
		t.Fatal("SecretFile accepted a FIFO")
	}
}
