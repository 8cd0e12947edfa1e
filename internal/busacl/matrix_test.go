package busacl_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/busacl"
	"github.com/passerelle-bus/passerelle/internal/config"
	"github.com/passerelle-bus/passerelle/internal/domains"
)

const aclFile = "../../deploy/kafka/acls.yaml"

// The permission matrix, generated from the ACL file: on a real broker
// with the file applied, every principal × every topic of the bus ×
// produce, fetch, describe and commit is allowed or refused exactly as the
// file says, and every refusal is ErrNotAuthorized naming the principal,
// the operation and the topic. The broker is the test's own: it writes
// probe records into the domain topics, which no other test must read.
func TestPermissionMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker of its own")
	}
	b := bustest.Private(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, err := busacl.Load(aclFile)
	if err != nil {
		t.Fatal(err)
	}
	admin := b.Client(t)
	if err := admin.EnsureTopics(ctx, domains.Topics(1)...); err != nil {
		t.Fatal(err)
	}
	users := t.TempDir()
	if err := busacl.SetPasswords(ctx, admin, f, users); err != nil {
		t.Fatal(err)
	}
	if _, err := busacl.Apply(ctx, admin, f); err != nil {
		t.Fatal(err)
	}
	// Idempotent: applied again, nothing changes; checked, nothing differs.
	if d, err := busacl.Apply(ctx, admin, f); err != nil || !d.Empty() {
		t.Fatalf("second apply changed %v (%v)", d, err)
	}
	if d, err := busacl.Compare(ctx, admin, f); err != nil || !d.Empty() {
		t.Fatalf("check after apply: %v (%v)", d, err)
	}

	var topics []string
	for _, s := range domains.Topics(1) {
		topics = append(topics, s.Name)
	}
	for _, u := range f.Users {
		t.Run(u.Name, func(t *testing.T) {
			cfg := b.Config()
			cfg.SASL = &bus.SASLConfig{Mechanism: "SCRAM-SHA-512", Username: u.Name, Password: config.SecretValue(readPassword(t, filepath.Join(users, u.Name+".password")))}
			c, err := bus.New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			group := groupOf(u)
			for _, topic := range topics {
				for _, p := range probes {
					want := p.allowed(f, u.Principal(), topic, group)
					err := p.run(ctx, c, cfg, topic, group)
					switch {
					case want && err != nil:
						t.Errorf("%s %s: refused, the file allows it: %v", p.name, topic, err)
					case !want && err == nil:
						t.Errorf("%s %s: allowed, the file does not allow it", p.name, topic)
					case !want && !errors.Is(err, bus.ErrNotAuthorized):
						t.Errorf("%s %s: want ErrNotAuthorized, got %v", p.name, topic, err)
					case !want && !strings.Contains(err.Error(), u.Principal()) || !want && !strings.Contains(err.Error(), topic):
						t.Errorf("%s %s: the refusal does not name the principal and the topic: %v", p.name, topic, err)
					}
				}
			}
		})
	}

	// Nobody without credentials gets anything: not over TLS without SASL,
	// not in plaintext, not with a wrong password.
	for name, cfg := range map[string]bus.Config{
		"tls without sasl": {Brokers: b.Brokers, TLS: b.Config().TLS},
		"plaintext":        {Brokers: b.Brokers},
		"wrong password":   {Brokers: b.Brokers, TLS: b.Config().TLS, SASL: &bus.SASLConfig{Mechanism: "SCRAM-SHA-512", Username: "gateway", Password: config.SecretValue("guess")}},
	} {
		t.Run(strings.ReplaceAll(name, " ", "-"), func(t *testing.T) {
			cfg.DialTimeout = 3 * time.Second
			c, err := bus.New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if _, err := c.Partitions(pctx, bus.TopicAudit); err == nil {
				t.Fatal("described the audit topic")
			}
			if _, _, err := c.Fetch(pctx, bus.TopicAudit, 0, 0, 10*time.Millisecond); err == nil {
				t.Fatal("fetched the audit topic")
			}
		})
	}
}

type probe struct {
	name    string
	allowed func(f *busacl.File, principal, topic, group string) bool
	run     func(ctx context.Context, c *bus.Client, cfg bus.Config, topic, group string) error // cfg: c's
}

var probes = []probe{
	{"produce",
		func(f *busacl.File, p, topic, _ string) bool { return f.Allows(p, "topic", topic, "Write") },
		func(ctx context.Context, c *bus.Client, _ bus.Config, topic, _ string) error {
			w := c.NewWriter(nil)
			defer w.Close()
			_, err := w.Produce(ctx, topic, 0, bus.Message{Key: []byte("matrix"), Value: []byte("probe")})
			return err
		}},
	{"fetch",
		func(f *busacl.File, p, topic, _ string) bool { return f.Allows(p, "topic", topic, "Read") },
		func(ctx context.Context, c *bus.Client, _ bus.Config, topic, _ string) error {
			_, _, err := c.Fetch(ctx, topic, 0, 0, 10*time.Millisecond)
			return err
		}},
	{"describe",
		func(f *busacl.File, p, topic, _ string) bool { return f.Allows(p, "topic", topic, "Describe") },
		func(ctx context.Context, c *bus.Client, _ bus.Config, topic, _ string) error {
			_, err := c.Partitions(ctx, topic)
			return err
		}},
	// A commit needs Read on the group and on the topic.
	{"commit",
		func(f *busacl.File, p, topic, group string) bool {
			return f.Allows(p, "group", group, "Read") && f.Allows(p, "topic", topic, "Read")
		},
		func(ctx context.Context, c *bus.Client, _ bus.Config, topic, group string) error {
			return c.CommitOffset(ctx, group, topic, 0, 0)
		}},
}

// groupOf is the group the user may commit in, if the file gives one.
func groupOf(u busacl.User) string {
	for _, r := range u.Authorization.ACLs {
		if r.Resource.Type == "group" {
			return r.Resource.Name
		}
	}
	return "passerelle-matrix-" + u.Name
}
