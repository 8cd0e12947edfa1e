package bus

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// ACL is one Allow entry of the cluster's authorizer, on any host. The
// words are Kafka's: resource topic or group, pattern literal or prefixed,
// operation Read, Write, Describe, ...
type ACL struct {
	Principal string // User:<name>
	Resource  string // topic, group
	Name      string
	Pattern   string // literal, prefixed
	Operation string
}

func (a ACL) String() string {
	return fmt.Sprintf("%s %s %s %s(%s)", a.Principal, a.Operation, a.Resource, a.Name, a.Pattern)
}

func (a ACL) entry() (kafka.ACLEntry, error) {
	e := kafka.ACLEntry{ResourceName: a.Name, Principal: a.Principal, Host: "*", PermissionType: kafka.ACLPermissionTypeAllow}
	if err := e.ResourceType.UnmarshalText([]byte(a.Resource)); err != nil {
		return e, fmt.Errorf("acl %s: %w", a, err)
	}
	if err := e.ResourcePatternType.UnmarshalText([]byte(a.Pattern)); err != nil {
		return e, fmt.Errorf("acl %s: %w", a, err)
	}
	if err := e.Operation.UnmarshalText([]byte(a.Operation)); err != nil {
		return e, fmt.Errorf("acl %s: %w", a, err)
	}
	return e, nil
}

// ACLs lists the Allow entries of the principals given (every principal
// when none is).
func (c *Client) ACLs(ctx context.Context, principals ...string) ([]ACL, error) {
	want := map[string]bool{}
	for _, p := range principals {
		want[p] = true
	}
	resp, err := c.admin.DescribeACLs(ctx, &kafka.DescribeACLsRequest{Filter: kafka.ACLFilter{
		ResourceTypeFilter: kafka.ResourceTypeAny, ResourcePatternTypeFilter: kafka.PatternTypeAny,
		Operation: kafka.ACLOperationTypeAny, PermissionType: kafka.ACLPermissionTypeAllow,
	}})
	if err == nil {
		err = resp.Error
	}
	if err != nil {
		return nil, c.classify("describe acls", err)
	}
	var out []ACL
	for _, r := range resp.Resources {
		for _, d := range r.ACLs {
			if len(want) > 0 && !want[d.Principal] {
				continue
			}
			rt, _ := r.ResourceType.MarshalText()
			pt, _ := r.PatternType.MarshalText()
			op, _ := d.Operation.MarshalText()
			out = append(out, ACL{Principal: d.Principal, Resource: strings.ToLower(string(rt)), Name: r.ResourceName,
				Pattern: strings.ToLower(string(pt)), Operation: string(op)})
		}
	}
	return out, nil
}

// CreateACLs adds Allow entries; an entry already there is not an error.
func (c *Client) CreateACLs(ctx context.Context, acls []ACL) error {
	if len(acls) == 0 {
		return nil
	}
	req := &kafka.CreateACLsRequest{}
	for _, a := range acls {
		e, err := a.entry()
		if err != nil {
			return err
		}
		req.ACLs = append(req.ACLs, e)
	}
	resp, err := c.admin.CreateACLs(ctx, req)
	if err != nil {
		return c.classify("create acls", err)
	}
	var errs []error
	for i, err := range resp.Errors {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", acls[i], err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c.classify("create acls", err)
	}
	return nil
}

// DeleteACLs removes exactly the entries given.
func (c *Client) DeleteACLs(ctx context.Context, acls []ACL) error {
	if len(acls) == 0 {
		return nil
	}
	req := &kafka.DeleteACLsRequest{}
	for _, a := range acls {
		e, err := a.entry()
		if err != nil {
			return err
		}
		req.Filters = append(req.Filters, kafka.DeleteACLsFilter{ResourceTypeFilter: e.ResourceType, ResourceNameFilter: e.ResourceName,
			ResourcePatternTypeFilter: e.ResourcePatternType, PrincipalFilter: e.Principal, HostFilter: e.Host,
			Operation: e.Operation, PermissionType: e.PermissionType})
	}
	resp, err := c.admin.DeleteACLs(ctx, req)
	if err != nil {
		return c.classify("delete acls", err)
	}
	var errs []error
	for i, r := range resp.Results {
		if r.Error != nil {
			errs = append(errs, fmt.Errorf("%s: %w", acls[i], r.Error))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c.classify("delete acls", err)
	}
	return nil
}

// scramIterations is Kafka's minimum and RFC 7677's floor (4096), not
// more: the embedded broker (kfake) announces 4096 to every client whatever
// the credential was made with, so a credential of more iterations could
// never sign in there (TestEmbeddedLockedDown).
const scramIterations = 4096

// SetSCRAMPassword creates user's SCRAM-SHA-512 credential, or replaces
// it. The password never travels: only a salted hash does.
func (c *Client) SetSCRAMPassword(ctx context.Context, user, password string) error {
	salt := make([]byte, 32)
	rand.Read(salt)
	salted, err := pbkdf2.Key(sha512.New, password, salt, scramIterations, sha512.Size)
	if err != nil {
		return err
	}
	resp, err := c.admin.AlterUserScramCredentials(ctx, &kafka.AlterUserScramCredentialsRequest{
		Upsertions: []kafka.UserScramCredentialsUpsertion{{Name: user, Mechanism: kafka.ScramMechanismSha512,
			Iterations: scramIterations, Salt: salt, SaltedPassword: salted}},
	})
	if err == nil {
		for _, r := range resp.Results {
			if r.Error != nil {
				err = r.Error
			}
		}
	}
	if err != nil {
		return c.classify("set the SCRAM credential of "+user, err)
	}
	return nil
}

// CommitOffset stores offset for group on one partition of topic, as a
// consumer outside any group generation does. Passerelle's own readers
// commit as group members; this is for tools and for proving the ACLs.
func (c *Client) CommitOffset(ctx context.Context, group, topic string, partition int, offset int64) error {
	var err error
	// A group's coordinator loading its offsets answers "try again".
	for attempt := 0; attempt < 50; attempt++ {
		var resp *kafka.OffsetCommitResponse
		resp, err = c.admin.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: group, GenerationID: -1,
			Topics: map[string][]kafka.OffsetCommit{topic: {{Partition: partition, Offset: offset}}}})
		if err == nil {
			for _, ps := range resp.Topics {
				for _, p := range ps {
					if p.Error != nil {
						err = p.Error
					}
				}
			}
		}
		var ke kafka.Error
		if !errors.As(err, &ke) || !ke.Temporary() || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return c.classify(fmt.Sprintf("commit %s/%d for group %s", topic, partition, group), err)
	}
	return nil
}
