// Package datakeys keeps each citizen's data key in each domain, which
// seals their personal fields on the log (internal/fieldcrypt), on the
// domain's compacted key topic passerelle.keys.<domain>.v1.
//
// Three levels. A domain's KEK (internal/kek) lives in Vault. It wraps the
// domain's epoch key, a random AES-256 key published, wrapped, as an epoch
// record; a component unwraps it once, with one call to Vault. The epoch
// key wraps every data key of the domain, published as key records: so a
// gateway opens the keys of millions of citizens without asking Vault for
// each. Erasing a citizen publishes an erased record in place of their
// key; then a rollover wraps every remaining key under a new epoch key,
// wrapped under a new KEK version, and retires the old KEK versions in
// Vault. From then on no copy of the old key records, in the topic before
// compaction or in a backup, can be opened by anyone: the erased keys are
// gone for good, and with them every field they sealed.
package datakeys

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/passerelle-bus/passerelle/internal/fieldcrypt"
)

// The kinds of key records.
const (
	KindEpoch  = "epoch"
	KindKey    = "key"
	KindErased = "erased"
)

// Record is the value of a key-topic record: JSON, signed as records are
// (passerelle-batch or passerelle-sig) by the domain's publisher (epochs
// and keys) or by a gateway (erasures, and epochs and keys of a rollover).
type Record struct {
	Kind   string `json:"kind"`
	Domain string `json:"domain"`
	// Epoch is the epoch's id: of an epoch record, or the epoch a key is
	// wrapped under.
	Epoch string `json:"epoch,omitempty"`
	// KEK is an epoch record's epoch key wrapped by the domain's KEK.
	KEK     string `json:"kek,omitempty"`
	Subject string `json:"subject,omitempty"`
	KeyID   string `json:"key_id,omitempty"`
	// Wrapped is a key record's data key: nonce ‖ AES-256-GCM(epoch key).
	Wrapped []byte    `json:"wrapped,omitempty"`
	Erasure *Erasure  `json:"erasure,omitempty"`
	Time    time.Time `json:"time"`
}

// Erasure says why a subject's keys were destroyed. It holds no personal
// data: the subject is the domain pseudonym.
type Erasure struct {
	ID         string `json:"id"`
	Reason     string `json:"reason"`
	LegalBasis string `json:"legal_basis"`
	// KeyIDs are the data keys destroyed: one a record, which names it.
	KeyIDs []string `json:"key_ids"`
}

// Kafka key of a record: the subject for a key; epoch/<id> for an epoch,
// so that compaction keeps every epoch until a rollover deletes it; and
// erased/<subject>/<key id> for an erasure, so that compaction keeps it
// for good: under the subject's key, an old key record written again
// after it would be the one compaction kept, and a reader rebuilt from
// the topic would take the erased key back.
func (r *Record) Key() string {
	switch r.Kind {
	case KindEpoch:
		return "epoch/" + r.Epoch
	case KindErased:
		if r.Erasure != nil && len(r.Erasure.KeyIDs) == 1 {
			return "erased/" + r.Subject + "/" + r.Erasure.KeyIDs[0]
		}
	}
	return r.Subject
}

// ErrMalformed: a key record that is not one.
var ErrMalformed = errors.New("datakeys: malformed key record")

// parse reads and checks a record's value.
func parse(domain string, key, value []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(value, &r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	bad := func(why string) (*Record, error) {
		return nil, fmt.Errorf("%w: %s record: %s", ErrMalformed, r.Kind, why)
	}
	if r.Domain != domain {
		return bad(fmt.Sprintf("domain %q on %s's topic", r.Domain, domain))
	}
	if string(key) != r.Key() {
		return bad(fmt.Sprintf("Kafka key %q, the record says %q", key, r.Key()))
	}
	switch r.Kind {
	case KindEpoch:
		if !validID(r.Epoch) || r.KEK == "" {
			return bad("epoch id or wrapped epoch key")
		}
	case KindKey:
		if r.Subject == "" || !validID(r.Epoch) || !validID(r.KeyID) || len(r.Wrapped) != wrappedSize {
			return bad("subject, epoch, key id or wrapped key")
		}
	case KindErased:
		if r.Subject == "" || r.Erasure == nil || r.Erasure.ID == "" || len(r.Erasure.KeyIDs) != 1 || !validID(r.Erasure.KeyIDs[0]) {
			return bad("subject, erasure or its one key id")
		}
	default:
		return bad("unknown kind")
	}
	return &r, nil
}

// validID: 16 bytes in lowercase hex, as key and epoch ids are written.
func validID(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == fieldcrypt.KeyIDSize && hex.EncodeToString(b) == s
}

// KeyIDOf parses a key id as records write it.
func KeyIDOf(s string) (fieldcrypt.KeyID, bool) {
	var id fieldcrypt.KeyID
	if !validID(s) {
		return id, false
	}
	hex.Decode(id[:], []byte(s))
	return id, true
}
