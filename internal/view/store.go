// Package view keeps, per domain, the latest verified record of each
// citizen, built by reading the domain topics from the beginning and then
// following them. It is an index of the log, not a source of truth: it
// holds the signed records exactly as published (per-domain pseudonyms, no
// NIR), answers only through the policy, and can be deleted and rebuilt
// from Kafka at any time.
package view

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Entry is one verified record: its value exactly as published, where it
// sits in the log, and the key its signature verified with. The signature
// headers themselves stay in Kafka, one fetch away by (partition, offset):
// a batch header (root signature and Merkle path) is two thirds of a
// record's size, and the index of 70 million citizens must not triple for
// a proof nobody asks of it twice.
type Entry struct {
	Head
	KeyID string
	Value []byte
}

// Head is where an entry sits in the log and in its subject's history:
// what the index compares a new record with, without reading the record.
type Head struct {
	Partition int32
	Offset    int64
	// EventTime (Unix milliseconds) and RecordID, both signed with the
	// record, order a subject's records: the index keeps the greatest, so
	// an older record written again, however validly signed, never takes
	// its place (Order).
	EventTime int64
	RecordID  string
	// Deleted marks the DELETE that ended the subject's record: kept, so
	// that an older UPSERT replayed after it does not bring it back.
	Deleted bool
}

// Order compares two records of one subject: by event time, then, for two
// records of the same millisecond, by record id, which any reader can
// apply alike. Negative if h comes before o.
func (h Head) Order(o Head) int {
	switch {
	case h.EventTime != o.EventTime:
		return cmp.Compare(h.EventTime, o.EventTime)
	}
	return strings.Compare(h.RecordID, o.RecordID)
}

// Store keeps the latest entry per (domain, subject), deletions as
// entries marked Deleted. Two implementations: memory for the demo, bbolt
// on disk for populations larger than RAM.
type Store interface {
	Put(domain, subject string, e Entry) error
	// Get returns the entry of subject, a deletion included.
	Get(domain, subject string) (Entry, bool, error)
	// Head is Get without the value.
	Head(domain, subject string) (Head, bool, error)
	Close() error
}

// Memory is a Store in RAM: a map per domain, keyed by the subject
// string the record's decoding made already, so a record costs no key of
// its own.
type Memory struct {
	mu sync.RWMutex
	m  map[string]map[string]Entry
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{m: map[string]map[string]Entry{}} }

// Put implements Store.
func (s *Memory) Put(domain, subject string, e Entry) error {
	s.mu.Lock()
	m := s.m[domain]
	if m == nil {
		m = map[string]Entry{}
		s.m[domain] = m
	}
	m[subject] = e
	s.mu.Unlock()
	return nil
}

// Head implements Store.
func (s *Memory) Head(domain, subject string) (Head, bool, error) {
	e, ok, err := s.Get(domain, subject)
	return e.Head, ok, err
}

// Get implements Store.
func (s *Memory) Get(domain, subject string) (Entry, bool, error) {
	s.mu.RLock()
	e, ok := s.m[domain][subject]
	s.mu.RUnlock()
	return e, ok, nil
}

// Close implements Store.
func (s *Memory) Close() error { return nil }

// Disk is a Store in a bbolt file, one bucket per domain. Writes are
// gathered in memory and committed in one transaction per few thousand
// (bbolt commits cost the same for one key or thousands), and not fsynced:
// the index is rebuilt from Kafka, so losing its tail in a crash costs a
// replay, never data.
type Disk struct {
	db *bolt.DB

	mu      sync.Mutex
	pending map[string]map[string]*Entry // domain → subject → entry
	n       int
}

// diskFormat changes when what an entry holds does: a file of another
// format is emptied, and rebuilt from the log as any index is.
const diskFormat = "2"

var bucketFormat = []byte("\x00format")

// diskFlushEvery is how many writes a transaction gathers.
const diskFlushEvery = 8192

// OpenDisk opens (or creates) the index file at path.
func OpenDisk(path string) (*Disk, error) {
	// Timeout: a file another process holds is an error to report, not
	// a wait forever.
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true, NoFreelistSync: true, Timeout: 5 * time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("view index %s is held by another process (a gateway on the same file?): stop it, or give this gateway an index of its own: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("view index %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketFormat); b != nil && string(b.Get(bucketFormat)) == diskFormat {
			return nil
		}
		var names [][]byte
		tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, append([]byte(nil), name...))
			return nil
		})
		for _, name := range names {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		b, err := tx.CreateBucket(bucketFormat)
		if err != nil {
			return err
		}
		return b.Put(bucketFormat, []byte(diskFormat))
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("view index %s: %w", path, err)
	}
	return &Disk{db: db, pending: map[string]map[string]*Entry{}}, nil
}

func (s *Disk) stage(domain, subject string, e *Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.pending[domain]
	if m == nil {
		m = map[string]*Entry{}
		s.pending[domain] = m
	}
	m[subject] = e
	if s.n++; s.n >= diskFlushEvery {
		return s.flushLocked()
	}
	return nil
}

// Put implements Store.
func (s *Disk) Put(domain, subject string, e Entry) error { return s.stage(domain, subject, &e) }

// Flush commits the gathered writes.
func (s *Disk) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

func (s *Disk) flushLocked() error {
	if s.n == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		for domain, m := range s.pending {
			b, err := tx.CreateBucketIfNotExists([]byte(domain))
			if err != nil {
				return err
			}
			for subject, e := range m {
				if err := b.Put([]byte(subject), encodeEntry(*e)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("view index: %w", err)
	}
	clear(s.pending)
	s.n = 0
	return nil
}

// Get implements Store; writes not yet committed are seen.
func (s *Disk) Get(domain, subject string) (e Entry, ok bool, err error) {
	return s.read(domain, subject, true)
}

// Head implements Store, without copying the value.
func (s *Disk) Head(domain, subject string) (Head, bool, error) {
	e, ok, err := s.read(domain, subject, false)
	return e.Head, ok, err
}

func (s *Disk) read(domain, subject string, value bool) (e Entry, ok bool, err error) {
	s.mu.Lock()
	if p, staged := s.pending[domain][subject]; staged {
		s.mu.Unlock()
		return *p, true, nil
	}
	s.mu.Unlock()
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(domain))
		if b == nil {
			return nil
		}
		v := b.Get([]byte(subject))
		if v == nil {
			return nil
		}
		e, err = decodeEntry(v, value) // copies: v is only valid in the transaction
		ok = err == nil
		return err
	})
	return e, ok, err
}

// Close commits what is gathered and closes the file.
func (s *Disk) Close() error {
	return errors.Join(s.Flush(), s.db.Close())
}

// encodeEntry: partition, offset, event time, a deleted flag, then the
// record id, the key id and the value, each length-prefixed.
func encodeEntry(e Entry) []byte {
	b := make([]byte, 0, 21+3*binary.MaxVarintLen32+len(e.RecordID)+len(e.KeyID)+len(e.Value))
	b = binary.BigEndian.AppendUint32(b, uint32(e.Partition))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Offset))
	b = binary.BigEndian.AppendUint64(b, uint64(e.EventTime))
	var deleted byte
	if e.Deleted {
		deleted = 1
	}
	b = append(b, deleted)
	for _, s := range [][]byte{[]byte(e.RecordID), []byte(e.KeyID), e.Value} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

var errCorrupt = errors.New("view index entry is corrupt: delete the index to rebuild it from Kafka")

// decodeEntry reads an entry, its value only if value is set.
func decodeEntry(b []byte, value bool) (Entry, error) {
	if len(b) < 21 {
		return Entry{}, errCorrupt
	}
	e := Entry{Head: Head{Partition: int32(binary.BigEndian.Uint32(b)), Offset: int64(binary.BigEndian.Uint64(b[4:])),
		EventTime: int64(binary.BigEndian.Uint64(b[12:])), Deleted: b[20] == 1}}
	b = b[21:]
	var parts [3][]byte
	for i := range parts {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return Entry{}, errCorrupt
		}
		if n > 0 && (i < 2 || value) {
			parts[i] = append([]byte(nil), b[k:k+int(n)]...)
		}
		b = b[k+int(n):]
	}
	e.RecordID, e.KeyID, e.Value = string(parts[0]), string(parts[1]), parts[2]
	return e, nil
}

var (
	_ Store = (*Memory)(nil)
	_ Store = (*Disk)(nil)
)
