package connectors

import (
	"encoding/json"
	"regexp"
	"time"
)

// DeadLetter is the value of a record on passerelle.dlq.<domain>: enough to
// find the row again in its source, know why it was refused and fix it.
type DeadLetter struct {
	Connector string    `json:"connector"`
	Domain    string    `json:"domain"`
	Source    string    `json:"source"` // member id
	Key       string    `json:"key"`
	At        string    `json:"at"` // for Source.Reread
	Code      string    `json:"code"`
	Field     string    `json:"field,omitempty"`
	Reason    string    `json:"reason"`
	Row       string    `json:"row"` // the source row, NIRs redacted
	Time      time.Time `json:"time"`
	Attempt   int       `json:"attempt"`
}

// HeaderDefect carries a dead letter's code, so a consumer can filter
// without parsing.
const HeaderDefect = "passerelle-defect"

// nirLike matches anything shaped like a NIR, valid key or not. A dead
// letter keeps the row but no NIR may reach Kafka: the row stays in the
// source, found again by At.
var nirLike = regexp.MustCompile(`\b[1-478][0-9]{4}(?:[0-9]{2}|2[ABab])[0-9]{8}\b`)

// Redact removes NIRs from a raw row.
func Redact(raw []byte) string {
	return string(nirLike.ReplaceAll(raw, []byte("[NIR redacted]")))
}

func (d DeadLetter) encode() []byte {
	b, _ := json.Marshal(d)
	return b
}
