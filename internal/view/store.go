// Package view keeps, per domain, the latest verified record of each
// citizen, built by reading the domain topics from the beginning and then
// following them. It is an index of the log, not a source of truth: it
// holds the signed records exactly as published (per-domain pseudonyms, no
// NIR), answers only through the policy, and can be deleted and rebuilt
// from Kafka at any time.
package view

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Entry is one verified record: its value exactly as published, where it
// sits in the log, and the key its signature verified with. The signature
// headers themselves stay in Kafka, one fetch away by (partition, offset):
// a batch header (root signature and Merkle path) is two thirds of a
// record's size, and the index of 70 million citizens must not triple for
// a proof nobody asks of it twice.
type Entry struct {
	Partition int32
	Offset    int64
	KeyID     string
	Value     []byte
}

// Store keeps the latest entry per (domain, subject). Two implementations:
// memory for the demo, bbolt on disk for populations larger than RAM.
type Store interface {
	Put(domain, subject string, e Entry) error
	Delete(domain, subject string) error
	Get(domain, subject string) (Entry, bool, error)
	Close() error
}

// Memory is a Store in RAM.
type Memory struct {
	mu sync.RWMutex
	m  map[string]Entry
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{m: map[string]Entry{}} }

func memKey(domain, subject string) string { return domain + "\x00" + subject }

// Put implements Store.
func (s *Memory) Put(domain, subject string, e Entry) error {
	s.mu.Lock()
	s.m[memKey(domain, subject)] = e
	s.mu.Unlock()
	return nil
}

// Delete implements Store.
func (s *Memory) Delete(domain, subject string) error {
	s.mu.Lock()
	delete(s.m, memKey(domain, subject))
	s.mu.Unlock()
	return nil
}

// Get implements Store.
func (s *Memory) Get(domain, subject string) (Entry, bool, error) {
	s.mu.RLock()
	e, ok := s.m[memKey(domain, subject)]
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
	pending map[string]map[string]*Entry // domain → subject → entry; nil deletes
	n       int
}

// diskFlushEvery is how many writes a transaction gathers.
const diskFlushEvery = 8192

// OpenDisk opens (or creates) the index file at path.
func OpenDisk(path string) (*Disk, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true, NoFreelistSync: true})
	if err != nil {
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

// Delete implements Store.
func (s *Disk) Delete(domain, subject string) error { return s.stage(domain, subject, nil) }

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
				if e == nil {
					err = b.Delete([]byte(subject))
				} else {
					err = b.Put([]byte(subject), encodeEntry(*e))
				}
				if err != nil {
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
	s.mu.Lock()
	if p, staged := s.pending[domain][subject]; staged {
		s.mu.Unlock()
		if p == nil {
			return Entry{}, false, nil
		}
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
		e, err = decodeEntry(v) // copies: v is only valid in the transaction
		ok = err == nil
		return err
	})
	return e, ok, err
}

// Close commits what is gathered and closes the file.
func (s *Disk) Close() error {
	return errors.Join(s.Flush(), s.db.Close())
}

// encodeEntry: partition, offset, then the key id and the value, each
// length-prefixed.
func encodeEntry(e Entry) []byte {
	b := make([]byte, 0, 12+2*binary.MaxVarintLen32+len(e.KeyID)+len(e.Value))
	b = binary.BigEndian.AppendUint32(b, uint32(e.Partition))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Offset))
	b = binary.AppendUvarint(b, uint64(len(e.KeyID)))
	b = append(b, e.KeyID...)
	b = binary.AppendUvarint(b, uint64(len(e.Value)))
	return append(b, e.Value...)
}

var errCorrupt = errors.New("view index entry is corrupt: delete the index to rebuild it from Kafka")

func decodeEntry(b []byte) (Entry, error) {
	if len(b) < 12 {
		return Entry{}, errCorrupt
	}
	e := Entry{Partition: int32(binary.BigEndian.Uint32(b)), Offset: int64(binary.BigEndian.Uint64(b[4:]))}
	b = b[12:]
	var parts [2][]byte
	for i := range parts {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return Entry{}, errCorrupt
		}
		if n > 0 {
			parts[i] = append([]byte(nil), b[k:k+int(n)]...)
		}
		b = b[k+int(n):]
	}
	e.KeyID, e.Value = string(parts[0]), parts[1]
	return e, nil
}

var (
	_ Store = (*Memory)(nil)
	_ Store = (*Disk)(nil)
)
