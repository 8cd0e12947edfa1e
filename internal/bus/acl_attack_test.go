package bus_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	kscram "github.com/segmentio/kafka-go/sasl/scram"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/busacl"
	"github.com/passerelle-bus/passerelle/internal/config"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/pki"
)

// lockedDown is the demo's embedded broker as the demo leaves it: locked
// down, the built-in ACL file applied, every user given its password.
type lockedDown struct {
	addr, caFile, users string
}

func startLockedDown(t *testing.T) lockedDown {
	t.Helper()
	dir := t.TempDir()
	e, caFile := secureEmbedded(t, dir, "127.0.0.1:0", "adminpw")
	t.Cleanup(e.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin := client(t, bus.Config{Brokers: []string{e.Addr()}, TLS: &bus.TLSConfig{CAFile: caFile}, SASL: scram("admin", "adminpw")})
	f, err := busacl.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	topics := domains.Topics(1) // the fixed topics (audit, consent, budget) included
	if err := admin.EnsureTopics(ctx, topics...); err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(dir, "users")
	if err := busacl.SetPasswords(ctx, admin, f, users); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(users, "admin.password"), []byte("adminpw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := busacl.Apply(ctx, admin, f); err != nil {
		t.Fatal(err)
	}
	return lockedDown{addr: e.Addr(), caFile: caFile, users: users}
}

func (l lockedDown) password(t *testing.T, user string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(l.users, user+".password"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func (l lockedDown) as(t *testing.T, user string) *bus.Client {
	return client(t, bus.Config{Brokers: []string{l.addr}, TLS: &bus.TLSConfig{CAFile: l.caFile}, SASL: scram(user, l.password(t, user))})
}

// raw is a kafka-go client signed in as user, for the admin requests the
// bus API has no method for: what an attacker holding the connector's
// password would send with any Kafka tool.
func (l lockedDown) raw(t *testing.T, user string) *kafka.Client {
	t.Helper()
	pem, err := os.ReadFile(l.caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	mech, err := kscram.Mechanism(kscram.SHA512, user, l.password(t, user))
	if err != nil {
		t.Fatal(err)
	}
	tr := &kafka.Transport{TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, SASL: mech}
	t.Cleanup(tr.CloseIdleConnections)
	return &kafka.Client{Addr: kafka.TCP(l.addr), Transport: tr, Timeout: 10 * time.Second}
}

// refused fails the test unless err says the broker refused.
func refused(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: the broker allowed it", what)
	}
	t.Logf("%s: %v", what, err)
}

// A connector's principal, its password stolen, tries everything a Kafka
// admin tool offers beyond its two topics. Each attempt is refused, and
// the cluster is as it was.
func TestACLAttackConnectorEscalation(t *testing.T) {
	l := startLockedDown(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const me = "connector-tax"
	mine := domains.Topics(1)
	var myTopic, otherTopic string
	for _, s := range mine {
		switch {
		case strings.HasPrefix(s.Name, "passerelle.tax."):
			myTopic = s.Name
		case otherTopic == "" && !strings.HasPrefix(s.Name, "passerelle.dlq."):
			otherTopic = s.Name
		}
	}
	c := l.as(t, me)
	raw := l.raw(t, me)
	admin := l.as(t, "admin")
	before, err := admin.ACLs(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The control: what the file allows the connector works, so the
	// refusals below are the authorizer's, not a broken setup.
	if err := c.CommitOffset(ctx, "passerelle-replay-dgfip-tax", "passerelle.dlq.tax", 0, 0); err != nil {
		t.Fatalf("the connector cannot commit its own replay group: %v", err)
	}
	t.Run("create an ACL for itself (read every domain)", func(t *testing.T) {
		refused(t, "CreateACLs", c.CreateACLs(ctx, []bus.ACL{
			{Principal: "User:" + me, Resource: "topic", Name: "passerelle.", Pattern: "prefixed", Operation: "Read"},
			{Principal: "User:" + me, Resource: "topic", Name: otherTopic, Pattern: "literal", Operation: "All"},
		}))
	})
	t.Run("delete the gateway's ACLs", func(t *testing.T) {
		refused(t, "DeleteACLs", c.DeleteACLs(ctx, []bus.ACL{{Principal: "User:gateway", Resource: "topic", Name: myTopic, Pattern: "literal", Operation: "Read"}}))
	})
	t.Run("list the ACLs", func(t *testing.T) {
		acls, err := c.ACLs(ctx)
		if err == nil && len(acls) > 0 {
			t.Fatalf("a connector listed %d ACLs", len(acls))
		}
	})
	for _, victim := range []string{"admin", "gateway", "auditor", "connector-health", me, "User:admin", "admin ", "аdmin" /* Cyrillic а */, "newuser"} {
		t.Run("set the SCRAM password of "+victim, func(t *testing.T) {
			refused(t, "AlterUserScramCredentials "+victim, c.SetSCRAMPassword(ctx, victim, "pwned"))
		})
	}
	t.Run("describe SCRAM credentials", func(t *testing.T) {
		resp, err := raw.DescribeUserScramCredentials(ctx, &kafka.DescribeUserScramCredentialsRequest{})
		if err == nil && resp.Error == nil {
			for _, r := range resp.Results {
				if r.Error == nil && len(r.CredentialInfos) > 0 {
					t.Fatalf("a connector read %s's SCRAM credential info", r.User)
				}
			}
		}
	})
	for _, name := range []string{"passerelle.taxes.household.v1", "passerelle.tax.household.v2", "passerelle.dlq.taxes", "passerelle.audit.v2", "evil"} {
		t.Run("create topic "+name, func(t *testing.T) {
			refused(t, "CreateTopics", c.EnsureTopics(ctx, bus.TopicSpec{Name: name, Partitions: 1}))
		})
	}
	for _, topic := range []string{myTopic, otherTopic, "passerelle.audit.v1", "passerelle.dlq.tax"} {
		t.Run("delete topic "+topic, func(t *testing.T) {
			resp, err := raw.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{topic}})
			if err == nil {
				err = resp.Errors[topic]
			}
			refused(t, "DeleteTopics", err)
		})
		t.Run("delete the committed offsets of "+topic, func(t *testing.T) {
			resp, err := raw.OffsetDelete(ctx, &kafka.OffsetDeleteRequest{GroupID: "passerelle-replay-dgfip-tax", Topics: map[string][]int{topic: {0}}})
			if err == nil {
				err = resp.Error
				for _, ps := range resp.Topics {
					for _, p := range ps {
						err = errors.Join(err, p.Error)
					}
				}
			}
			refused(t, "OffsetDelete", err)
		})
		t.Run("alter configs of "+topic, func(t *testing.T) {
			resp, err := raw.AlterConfigs(ctx, &kafka.AlterConfigsRequest{Resources: []kafka.AlterConfigRequestResource{{
				ResourceType: kafka.ResourceTypeTopic, ResourceName: topic,
				Configs: []kafka.AlterConfigRequestConfig{{Name: "retention.ms", Value: "1"}}}}})
			if err == nil {
				for _, e := range resp.Errors {
					err = errors.Join(err, e)
				}
			}
			refused(t, "AlterConfigs", err)
			iresp, err := raw.IncrementalAlterConfigs(ctx, &kafka.IncrementalAlterConfigsRequest{Resources: []kafka.IncrementalAlterConfigsRequestResource{{
				ResourceType: kafka.ResourceTypeTopic, ResourceName: topic,
				Configs: []kafka.IncrementalAlterConfigsRequestConfig{{Name: "cleanup.policy", Value: "compact", ConfigOperation: kafka.ConfigOperationSet}}}}})
			if err == nil {
				for _, r := range iresp.Resources {
					err = errors.Join(err, r.Error)
				}
			}
			refused(t, "IncrementalAlterConfigs", err)
		})
		t.Run("describe configs of "+topic, func(t *testing.T) {
			resp, err := raw.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{ResourceType: kafka.ResourceTypeTopic, ResourceName: topic}}})
			if err == nil {
				for _, r := range resp.Resources {
					err = errors.Join(err, r.Error)
				}
			}
			refused(t, "DescribeConfigs", err)
		})
		t.Run("add partitions to "+topic, func(t *testing.T) {
			resp, err := raw.CreatePartitions(ctx, &kafka.CreatePartitionsRequest{Topics: []kafka.TopicPartitionsConfig{{Name: topic, Count: 8}}})
			if err == nil {
				err = resp.Errors[topic]
			}
			refused(t, "CreatePartitions", err)
		})
	}
	t.Run("alter broker configs", func(t *testing.T) {
		resp, err := raw.AlterConfigs(ctx, &kafka.AlterConfigsRequest{Resources: []kafka.AlterConfigRequestResource{{
			ResourceType: kafka.ResourceTypeBroker, ResourceName: "0",
			Configs: []kafka.AlterConfigRequestConfig{{Name: "log.retention.ms", Value: "1"}}}}})
		if err == nil {
			for _, e := range resp.Errors {
				err = errors.Join(err, e)
			}
		}
		refused(t, "AlterConfigs broker", err)
	})
	for _, topic := range []string{"passerelle.audit.v1", "passerelle.consent.v1", "passerelle.stats.budget.v1", otherTopic, myTopic} {
		t.Run("read "+topic, func(t *testing.T) {
			fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_, _, err := c.Fetch(fctx, topic, 0, 0, time.Second)
			refused(t, "Fetch", err)
		})
	}
	for _, topic := range []string{"passerelle.audit.v1", "passerelle.consent.v1", "passerelle.stats.budget.v1", otherTopic} {
		t.Run("write "+topic, func(t *testing.T) {
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			w := c.NewWriter(nil)
			defer w.Close()
			refused(t, "Produce", w.Write(wctx, bus.Message{Topic: topic, Key: []byte("k"), Value: []byte("forged")}))
		})
	}
	for _, group := range []string{"passerelle-gateway", "passerelle-replay-insee-civilstatus", "passerelle-replay-dgfip-taxes", "passerelle-replay-dgfip-tax-"} {
		t.Run("commit group "+group, func(t *testing.T) {
			refused(t, "OffsetCommit", c.CommitOffset(ctx, group, "passerelle.dlq.tax", 0, 0))
		})
	}
	t.Run("delete a group", func(t *testing.T) {
		resp, err := raw.DeleteGroups(ctx, &kafka.DeleteGroupsRequest{GroupIDs: []string{"passerelle-replay-dgfip-tax", "passerelle-gateway"}})
		if err == nil {
			for _, e := range resp.Errors {
				err = errors.Join(err, e)
			}
		}
		refused(t, "DeleteGroups", err)
	})

	after, err := admin.ACLs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("the ACLs changed: %d before, %d after", len(before), len(after))
	}
	// The other users still sign in with their own passwords.
	for _, u := range []string{"gateway", "auditor"} {
		if err := l.as(t, u).Ping(ctx); err != nil {
			t.Fatalf("%s no longer signs in: %v", u, err)
		}
	}
}

// The client certificate's private key is a secret like any other: a key
// file its group or others may read is refused, as file:PATH is.
func TestTLSAttackClientKeyReadableByOthers(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	ca, err := pki.EnsureCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"), "test CA", now)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ca.IssueClient("connector-tax", nil, now)
	if err != nil {
		t.Fatal(err)
	}
	crt, key := filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key")
	if err := l.Write(crt, key); err != nil {
		t.Fatal(err)
	}
	cfg := bus.Config{Brokers: []string{"127.0.0.1:1"}, TLS: &bus.TLSConfig{CAFile: filepath.Join(dir, "ca.crt"), CertFile: crt, KeyFile: key}}
	if _, err := bus.New(cfg, nil); err != nil {
		t.Fatalf("a 0600 key: %v", err)
	}
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.New(cfg, nil); !errors.Is(err, config.ErrSecretFileMode) || !strings.Contains(err.Error(), "tls.key_file") {
		t.Fatalf("a 0644 key: got %v, want %v naming tls.key_file", err, config.ErrSecretFileMode)
	}
}
