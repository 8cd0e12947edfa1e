package bus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Client holds the connection settings shared by the writers, readers and
// admin calls of one process.
type Client struct {
	cfg       Config
	log       *slog.Logger
	mechanism sasl.Mechanism
	tls       *tls.Config
	transport *kafka.Transport
	admin     *kafka.Client
}

// New validates cfg and returns a client. It does not connect: call
// [Client.Ping] to fail fast on a bad address.
func New(cfg Config, log *slog.Logger) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mech, err := mechanism(cfg.SASL)
	if err != nil {
		return nil, err
	}
	tc, err := tlsConfig(cfg.TLS)
	if err != nil {
		return nil, err
	}
	tr := &kafka.Transport{
		DialTimeout: cfg.DialTimeout,
		ClientID:    cfg.ClientID,
		SASL:        mech,
		TLS:         tc,
		MetadataTTL: 2 * time.Second,
	}
	return &Client{
		cfg:       cfg,
		log:       log.With("component", "bus"),
		mechanism: mech,
		tls:       tc,
		transport: tr,
		admin:     &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: tr},
	}, nil
}

func mechanism(s *SASLConfig) (sasl.Mechanism, error) {
	if s == nil {
		return nil, nil
	}
	switch s.Mechanism {
	case "PLAIN":
		return plain.Mechanism{Username: s.Username, Password: s.Password.Value()}, nil
	case "SCRAM-SHA-256":
		return scram.Mechanism(scram.SHA256, s.Username, s.Password.Value())
	case "SCRAM-SHA-512":
		return scram.Mechanism(scram.SHA512, s.Username, s.Password.Value())
	}
	return nil, fmt.Errorf("%w: sasl.mechanism %q", ErrBadConfig, s.Mechanism)
}

// Config is the configuration the client was made with, defaults applied:
// what a part started beside it needs to reach the same cluster as the
// same principal.
func (c *Client) Config() Config { return c.cfg }

// Brokers returns the bootstrap addresses.
func (c *Client) Brokers() []string { return slices.Clone(c.cfg.Brokers) }

// Close releases idle connections.
func (c *Client) Close() { c.transport.CloseIdleConnections() }

// dialer is what kafka.Reader needs in place of a Transport.
func (c *Client) dialer() *kafka.Dialer {
	return &kafka.Dialer{
		ClientID:      c.cfg.ClientID,
		Timeout:       c.cfg.DialTimeout,
		DualStack:     true,
		SASLMechanism: c.mechanism,
		TLS:           c.tls,
	}
}

// Ping asks every bootstrap broker for metadata and succeeds as soon as one
// answers. Otherwise the error names each broker and why it failed, so a
// typo in an address is seen at start, not as a hang later.
func (c *Client) Ping(ctx context.Context) error {
	var errs []error
	for _, b := range c.cfg.Brokers {
		pctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
		_, err := c.admin.Metadata(pctx, &kafka.MetadataRequest{Addr: kafka.TCP(b), Topics: []string{}})
		cancel()
		if err == nil {
			return nil
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %s", c.cfg.DialTimeout)
		}
		errs = append(errs, fmt.Errorf("broker %s: %w", b, err))
	}
	return fmt.Errorf("%w: %w", ErrBrokerUnreachable, errors.Join(errs...))
}

// EnsureTopics creates the topics that do not exist yet and waits until the
// cluster's metadata shows every one of them. Existing topics are left as
// they are, but a partition count lower than asked is reported: partitions
// route citizens, and a silent mismatch would scatter them.
func (c *Client) EnsureTopics(ctx context.Context, specs ...TopicSpec) error {
	req := &kafka.CreateTopicsRequest{}
	for _, s := range specs {
		tc := kafka.TopicConfig{Topic: s.Name, NumPartitions: s.Partitions, ReplicationFactor: c.cfg.ReplicationFactor}
		for k, v := range s.configs() {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: k, ConfigValue: v})
		}
		req.Topics = append(req.Topics, tc)
	}
	resp, err := c.admin.CreateTopics(ctx, req)
	if err != nil {
		return c.classify("create topics", err)
	}
	var refused []TopicSpec
	for _, s := range specs {
		switch err := resp.Errors[s.Name]; {
		case err == nil, errors.Is(err, kafka.TopicAlreadyExists):
		case errors.Is(err, kafka.TopicAuthorizationFailed), errors.Is(err, kafka.ClusterAuthorizationFailed):
			// Under least privilege only the operator creates topics
			// (passerelle kafka apply): a component just needs them there.
			refused = append(refused, s)
		default:
			return c.classify("create topic "+s.Name, err)
		}
	}
	if len(refused) > 0 {
		if err := c.mustExist(ctx, refused); err != nil {
			return err
		}
	}
	return c.waitTopics(ctx, specs)
}

// mustExist checks, once, that topics this principal may not create exist.
func (c *Client) mustExist(ctx context.Context, specs []TopicSpec) error {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	parts, err := c.partitionCounts(ctx, names)
	if err != nil {
		return err
	}
	var missing []string
	for _, n := range names {
		if _, ok := parts[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w on %s: %s, and %s is %w to create them: the operator creates them (passerelle kafka apply)",
			ErrTopicMissing, strings.Join(c.cfg.Brokers, ","), strings.Join(missing, ", "), c.cfg.Principal(), ErrNotAuthorized)
	}
	return nil
}

func (c *Client) waitTopics(ctx context.Context, specs []TopicSpec) error {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	for {
		parts, err := c.partitionCounts(ctx, names)
		if err == nil {
			var missing []string
			for _, s := range specs {
				n, ok := parts[s.Name]
				switch {
				case !ok:
					missing = append(missing, s.Name)
				case n < s.Partitions:
					c.log.Warn("topic has fewer partitions than configured", "topic", s.Name, "have", n, "want", s.Partitions)
				}
			}
			if len(missing) == 0 {
				return nil
			}
			err = fmt.Errorf("%w: %s", ErrTopicMissing, strings.Join(missing, ", "))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for topics: %w (last: %w)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Partitions returns the partition count of a topic, or ErrTopicMissing.
func (c *Client) Partitions(ctx context.Context, topic string) (int, error) {
	parts, err := c.partitionCounts(ctx, []string{topic})
	if err != nil {
		return 0, err
	}
	n, ok := parts[topic]
	if !ok {
		return 0, c.refusal(ctx, "describe "+topic, topic, fmt.Errorf("%w: %s", ErrTopicMissing, topic))
	}
	return n, nil
}

func (c *Client) partitionCounts(ctx context.Context, topics []string) (map[string]int, error) {
	md, err := c.admin.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, c.classify("metadata", err)
	}
	out := make(map[string]int, len(md.Topics))
	for _, t := range md.Topics {
		switch {
		case t.Error == nil && allLed(t):
			out[t.Name] = len(t.Partitions)
		case t.Error == nil:
			// Just created: leaders are still being elected, and reads or
			// writes now would fail with NOT_LEADER_FOR_PARTITION.
		case errors.Is(t.Error, kafka.UnknownTopicOrPartition):
		default:
			return nil, c.classify("metadata of "+t.Name, t.Error)
		}
	}
	return out, nil
}

func allLed(t kafka.Topic) bool {
	for _, p := range t.Partitions {
		if p.Error != nil || p.Leader.Host == "" {
			return false
		}
	}
	return len(t.Partitions) > 0
}

// classify maps broker errors onto this package's sentinels, keeping the
// original error in the chain and naming the brokers asked and, for a
// refusal, the principal refused: the three things an operator needs to
// find the missing ACL.
func (c *Client) classify(op string, err error) error {
	brokers := strings.Join(c.cfg.Brokers, ",")
	switch {
	case errors.Is(err, kafka.TopicAuthorizationFailed),
		errors.Is(err, kafka.ClusterAuthorizationFailed),
		errors.Is(err, kafka.GroupAuthorizationFailed),
		errors.Is(err, kafka.SASLAuthenticationFailed):
		return fmt.Errorf("%s on %s as %s: %w: %w", op, brokers, c.cfg.Principal(), ErrNotAuthorized, err)
	case isDialError(err):
		return fmt.Errorf("%s on %s: %w: %w", op, brokers, ErrBrokerUnreachable, err)
	}
	return fmt.Errorf("%s on %s: %w", op, brokers, err)
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
