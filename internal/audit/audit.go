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

// NewLog writes with w, a writer with acks=all (bus.NewWriter's default).
// Concurrent appends share produce requests: kafka-go batches the messages
// of concurrent writes, a group commit.
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
