package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// A broker with an authorizer hides the topics a principal may not
// describe: their names are left out of the metadata of all topics, from
// which kafka-go routes its requests, so a refused produce or fetch comes
// back as "topic not found" without ever reaching the broker. Asked about
// one topic by name, the broker says which it is: TOPIC_AUTHORIZATION_FAILED
// or UNKNOWN_TOPIC_OR_PARTITION.

// refusal asks the broker whether topic is refused to this principal,
// after err said it was not found, and returns the error to report: a
// refusal that names the principal, the operation and the topic, or err as
// classified when the topic is really missing (or the question fails).
func (c *Client) refusal(ctx context.Context, op, topic string, err error) error {
	if !errors.Is(err, protocol.ErrNoTopic) && !errors.Is(err, ErrTopicMissing) && !errors.Is(err, kafka.UnknownTopicOrPartition) {
		return c.classify(op, err)
	}
	if denied := c.describeDenied(ctx, topic); denied != nil {
		return c.classify(op, denied)
	}
	return c.classify(op, err)
}

// describeDenied returns kafka.TopicAuthorizationFailed if the broker
// refuses this principal the topic, nil otherwise.
func (c *Client) describeDenied(ctx context.Context, topic string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.DialTimeout)
	defer cancel()
	for _, b := range c.cfg.Brokers {
		conn, err := c.dialer().DialContext(ctx, "tcp", b)
		if err != nil {
			continue
		}
		conn.SetDeadline(time.Now().Add(c.cfg.DialTimeout))
		_, err = conn.ReadPartitions(topic)
		conn.Close()
		if errors.Is(err, kafka.TopicAuthorizationFailed) {
			return fmt.Errorf("%w (topic %s)", kafka.TopicAuthorizationFailed, topic)
		}
		return nil
	}
	return nil
}
