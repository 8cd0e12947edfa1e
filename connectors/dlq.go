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

// idLike matches a run of 13 or more digits and letters, starting with a
// digit, the digits possibly grouped by up to three spaces, dots or dashes:
// every way a NIR is written, well or
// badly (spaced as on the card, a digit too many or too few, a typo in
// the department). A malformed NIR is still probably someone's, so the
// rule is broad: a dead letter keeps the row, but no identifier may reach
// Kafka. The row itself stays in its source, found again by At.
var idLike = regexp.MustCompile(`[0-9](?:[ .\-]{0,3}[0-9]|[A-Za-z]){12,}`)

// minIDDigits is how many digits make a run an identifier rather than a
// word: a NIR has at least 11 even with 2A/2B and a digit lost.
const minIDDigits = 11

// Redact removes anything that may be a NIR from a raw row.
func Redact(raw []byte) string {
	return string(idLike.ReplaceAllFunc(raw, func(m []byte) []byte {
		digits := 0
		for _, c := range m {
			if c >= '0' && c <= '9' {
				digits++
			}
		}
		if digits < minIDDigits {
			return m
		}
		return []byte("[redacted]")
	}))
}

func (d DeadLetter) encode() []byte {
	b, _ := json.Marshal(d)
	return b
}
