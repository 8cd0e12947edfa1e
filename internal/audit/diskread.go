package audit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/valyala/fastjson"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// hashes reads stored hashes of the tree.
func (s *boltStore) hashes(idx []int64) ([]tlog.Hash, error) {
	var out []tlog.Hash
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = storedHashes(tx, idx)
		return err
	})
	return out, err
}

func storedHashes(tx *bolt.Tx, idx []int64) ([]tlog.Hash, error) {
	b := tx.Bucket(bucketHashes)
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		v := b.Get(u64key(x / hashChunk))
		at := int(x%hashChunk) * tlog.HashSize
		if len(v) < at+tlog.HashSize {
			return nil, fmt.Errorf("%w: stored hash %d is missing", ErrIndex, x)
		}
		copy(out[i][:], v[at:])
	}
	return out, nil
}

func chunkHashes(v []byte, n int) ([]tlog.Hash, error) {
	if len(v) < n*tlog.HashSize {
		return nil, fmt.Errorf("the last %d stored hashes are missing", n-len(v)/tlog.HashSize)
	}
	hs := make([]tlog.Hash, n)
	for i := range hs {
		copy(hs[i][:], v[i*tlog.HashSize:])
	}
	return hs, nil
}

func (s *boltStore) leafOf(writer string, seq int64) (int64, error) {
	var leaf int64 = -1
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketSeqs).Get(named(writer, seq)); v != nil {
			leaf = u64(v)
		}
		return nil
	})
	if err == nil && leaf < 0 {
		err = fmt.Errorf("%w: writer %s seq %d is not indexed", ErrIndex, writer, seq)
	}
	return leaf, err
}

func (s *boltStore) index(id string) (int64, string, bool, error) {
	if i, void, ok, _ := s.tail.index(id); ok {
		return i, void, true, nil
	}
	var leaf int64
	var void string
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketIDs).Get([]byte(id))
		if leaf, ok = u64(v), v != nil; ok {
			voids := s.savedVoids(tx)
			void = voids.of(leaf)
		}
		return nil
	})
	return leaf, void, ok, err
}

func (s *boltStore) entry(i int64) (Entry, bool, error) {
	if i < 0 || i >= s.tail.base {
		return s.tail.entry(i)
	}
	var e Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		var p fastjson.Parser
		var err error
		e, err = readEvent(tx, &p, s.anchor, i)
		voids := s.savedVoids(tx)
		e.Void = voids.of(i)
		return err
	})
	if err != nil {
		return Entry{}, false, err
	}
	return e, true, nil
}

// savedVoids reads, within one transaction, the voids of saved leaves
// asked in ascending order, as every read of the index visits them: those
// not on disk yet from memory, the others from the voids bucket through
// one cursor, which moves only once a leaf has passed the void it is at.
// (A Get for each leaf built a bucket and a cursor for every event a
// fair-use count visits: five allocations each.) The cursor is opened at
// the first leaf whose bit is set (voidBits): most counts open none.
type savedVoids struct {
	held map[int64]string
	bits voidBits
	tx   *bolt.Tx
	c    *bolt.Cursor
	at   int64  // the leaf the cursor was last moved for; -1 before
	next int64  // the leaf of the first void from at on; MaxInt64 if none
	code []byte // next's void
}

func (s *boltStore) savedVoids(tx *bolt.Tx) savedVoids {
	return savedVoids{held: s.voids, bits: s.onDisk, tx: tx, at: -1}
}

// of is the void of saved leaf i.
func (v *savedVoids) of(i int64) string {
	if code, ok := v.held[i]; ok {
		return code
	}
	if !v.bits.has(i) {
		return ""
	}
	if v.at < 0 || i < v.at || i > v.next {
		if v.c == nil {
			v.c = v.tx.Bucket(bucketVoids).Cursor()
		}
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], uint64(i))
		key, code := v.c.Seek(k[:])
		v.at, v.next, v.code = i, math.MaxInt64, nil
		if key != nil {
			v.next, v.code = u64(key), code
		}
	}
	if i == v.next {
		return string(v.code)
	}
	return ""
}

// readEvent reads leaf i back and proves it in the anchor (after it,
// checks it against its leaf hash).
func readEvent(tx *bolt.Tx, p *fastjson.Parser, a anchor, i int64) (Entry, error) {
	v := tx.Bucket(bucketEvents).Get(u64key(i))
	if len(v) < 8 {
		return Entry{}, fmt.Errorf("%w: leaf %d is missing", ErrIndex, i)
	}
	raw := v[8:]
	leaf := tlog.RecordHash(raw)
	hashes := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return storedHashes(tx, idx) })
	if i < a.size {
		proof, err := tlog.ProveRecord(a.size, i, hashes)
		if err == nil {
			err = tlog.CheckRecord(proof, a.size, a.root, i, leaf)
		}
		if err != nil {
			return Entry{}, fmt.Errorf("%w: leaf %d is not proven in the checkpoint of %d events: %w", ErrIndex, i, a.size, err)
		}
	} else if h, err := hashes.ReadHashes([]int64{tlog.StoredHashIndex(0, i)}); err != nil || h[0] != leaf {
		return Entry{}, fmt.Errorf("%w: leaf %d is not the event the tree holds", ErrIndex, i)
	}
	doc, err := p.ParseBytes(raw)
	if err != nil {
		return Entry{}, fmt.Errorf("%w: leaf %d: %w", ErrIndex, i, err)
	}
	ev := eventOf(doc, string(doc.GetStringBytes("id")), nil)
	ev.Citizen = string(doc.GetStringBytes("citizen"))
	return Entry{Index: i, Offset: u64(v), Event: ev}, nil
}

func (s *boltStore) events(f Filter, visit func(*Entry) bool) (bool, error) {
	if f.After+1 < s.tail.base {
		stopped, err := s.saved(f, visit)
		if err != nil || stopped {
			return stopped, err
		}
	}
	return s.tail.events(f, visit)
}

// saved visits the saved events that may match f, in log order, through
// the citizen or requester index when f names one; it reports whether
// visit stopped.
func (s *boltStore) saved(f Filter, visit func(*Entry) bool) (stopped bool, err error) {
	base := s.tail.base
	err = s.db.View(func(tx *bolt.Tx) error {
		var p fastjson.Parser
		voids := s.savedVoids(tx)
		each := func(leaf int64) (bool, error) {
			e, err := readEvent(tx, &p, s.anchor, leaf)
			if err != nil {
				return false, err
			}
			e.Void = voids.of(leaf)
			return !visit(&e), nil
		}
		first := max(f.After+1, 0)
		switch {
		case f.Citizen != "":
			stopped, err = scan(tx.Bucket(bucketCitizens), f.Citizen, first, base, func(leaf int64, v []byte) (bool, error) {
				if e, ok := unsummarize(f.Citizen, leaf, v); ok && !f.matches(&e) {
					return false, nil // told by its summary: no need to read it
				}
				return each(leaf)
			})
		case f.Requester != "":
			stopped, err = scan(tx.Bucket(bucketRequesters), f.Requester, first, base, func(leaf int64, _ []byte) (bool, error) { return each(leaf) })
		default:
			c := tx.Bucket(bucketEvents).Cursor()
			for k, _ := c.Seek(u64key(first)); k != nil && u64(k) < base; k, _ = c.Next() {
				if stopped, err = each(u64(k)); err != nil || stopped {
					break
				}
			}
		}
		return err
	})
	return stopped, err
}

// scan calls fn for each leaf from first to base of a name's index, until
// fn reports it stopped.
func scan(b *bolt.Bucket, name string, first, base int64, fn func(leaf int64, v []byte) (bool, error)) (bool, error) {
	prefix := namePrefix(name)
	c := b.Cursor()
	for k, v := c.Seek(named(name, first)); len(k) == len(prefix)+8 && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		leaf := u64(k[len(prefix):])
		if leaf >= base {
			break
		}
		if stop, err := fn(leaf, v); err != nil || stop {
			return stop, err
		}
	}
	return false, nil
}

func (s *boltStore) count(citizen string, u claimUses) (int, error) {
	n, err := s.countSaved(citizen, u)
	if err != nil {
		return 0, err
	}
	m, err := s.tail.count(citizen, u)
	return n + m, err
}

// countSaved counts, from the citizen index alone, the saved events of
// citizen that u counts.
func (s *boltStore) countSaved(citizen string, u claimUses) (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		voids := s.savedVoids(tx)
		_, err := scan(tx.Bucket(bucketCitizens), citizen, 0, s.tail.base, func(leaf int64, v []byte) (bool, error) {
			e, good := unsummarize(citizen, leaf, v)
			if !good {
				return false, fmt.Errorf("%w: the summary of leaf %d is corrupt", ErrIndex, leaf)
			}
			// Its void looked up last: most summaries are not of a use.
			if u.counts(&e) && voids.of(leaf) == "" {
				n++
			}
			return false, nil
		})
		return err
	})
	return n, err
}

// loadClaims reads back the tokens the saved events claimed; their voids
// stay on disk, read with them, and only their leaves' bits are set.
func (s *boltStore) loadClaims(tx *bolt.Tx, t *Trail) error {
	err := tx.Bucket(bucketVoids).ForEach(func(k, _ []byte) error {
		s.onDisk.set(u64(k))
		return nil
	})
	if err != nil {
		return err
	}
	return tx.Bucket(bucketTokens).ForEach(func(k, _ []byte) error {
		if len(k) < 8 {
			return fmt.Errorf("token entry %x: short", k)
		}
		t.tokens[string(k[8:])] = u64(k)
		return nil
	})
}

// A summary is what the citizen index holds of an event, for the fair-use
// and consent counts and to skip, unread, the events a filter does not
// match: time, kind, decision, requester, purpose, the consent it claims.
func summarize(e *Entry) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(e.Time.UnixNano()))
	var consent string
	if e.Consent != nil {
		consent = e.Consent.ID
	}
	for _, s := range []string{e.Kind, e.Decision, e.Requester, e.Purpose, consent} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

func unsummarize(citizen string, leaf int64, b []byte) (Entry, bool) {
	if len(b) < 8 {
		return Entry{}, false
	}
	e := Entry{Index: leaf, Event: Event{Citizen: citizen, Time: time.Unix(0, int64(binary.BigEndian.Uint64(b)))}}
	b = b[8:]
	var consent string
	for _, s := range []*string{&e.Kind, &e.Decision, &e.Requester, &e.Purpose, &consent} {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return Entry{}, false
		}
		*s, b = string(b[k:k+int(n)]), b[k+int(n):]
	}
	if consent != "" {
		e.Consent = &ConsentClaim{ID: consent}
	}
	return e, true
}

// named is a key of a name's index: the name, length-prefixed so that no
// name is a prefix of another's keys, then a big-endian number.
func named(name string, n int64) []byte {
	return binary.BigEndian.AppendUint64(namePrefix(name), uint64(n))
}

func namePrefix(name string) []byte {
	return append(binary.AppendUvarint(nil, uint64(len(name))), name...)
}

func u64key(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }

func u64(b []byte) int64 {
	if len(b) < 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}
