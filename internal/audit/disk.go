package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

// A gateway's trail can be kept in a bbolt file, the disk index, so that
// the gateway's memory does not grow with the log and a restart reads only
// the records written since: the trail gathers what it reads in memory and
// saves it every diskCommitEvery records.
//
// The index is a copy of the topic, never the authority. When the file is
// opened, the tree it holds is checked against the latest signed
// checkpoint, and the events saved after that checkpoint are hashed again
// into the tree: what the gateway goes on to sign rests on nothing the
// file could have had altered. Each event read back is proven in the
// latest checkpoint saved (or, after it, checked against its leaf hash).
// A file that fails is deleted, and rebuilt from the topic.
//
// The fair-use counts read a summary of each event kept beside the
// citizen index, not the event: altering one lets a requester past a
// ceiling, and each access past it is still in the log.

// diskCommitEvery is how many records a save gathers: at most a few MB of
// memory, one transaction a second at 5,000 audited views a second.
const diskCommitEvery = 4096

// indexMmapSize is the address space the index maps from the start. bbolt
// maps its file anew each time it outgrows the mapping (doubling up to
// 1 GiB): the save doing it waits for every read transaction, the fair-use
// counts of views in flight, and copies every page it has changed to the
// heap first, 38 MB in one round of the view benchmark. Address space, not
// memory: the kernel pages in only what is read.
const indexMmapSize = 1 << 30

// hashChunk is how many of the tree's stored hashes one bbolt value holds.
const hashChunk = 256

var (
	bucketMeta        = []byte("meta")        // see the meta keys
	bucketHashes      = []byte("hashes")      // chunk number → up to hashChunk stored hashes
	bucketEvents      = []byte("events")      // leaf → offset, event as on the topic
	bucketIDs         = []byte("ids")         // event id → leaf
	bucketCitizens    = []byte("citizens")    // pseudonym, leaf → summary
	bucketRequesters  = []byte("requesters")  // requester, leaf → nothing
	bucketSeqs        = []byte("seqs")        // writer, seq → leaf
	bucketWriters     = []byte("writers")     // writer → next seq, id of its last event
	bucketCheckpoints = []byte("checkpoints") // offset → signed note
	bucketVoids       = []byte("voids")       // leaf → void code (claims.go)
	bucketTokens      = []byte("tokens")      // expiry, token → nothing

	metaOrigin     = []byte("origin") // origin and topic the index is of
	metaNext       = []byte("next")   // offset after the last record saved
	metaSize       = []byte("size")
	metaDuplicates = []byte("duplicates")
	metaLatest     = []byte("latest") // offset of the largest checkpoint
	metaFormat     = []byte("format")
)

// indexFormat changes when what the index holds does; an index of another
// format is rebuilt from the topic. 2: summaries name the consent used,
// and the settled claims are kept.
const indexFormat = "2"

var allBuckets = [][]byte{bucketMeta, bucketHashes, bucketEvents, bucketIDs, bucketCitizens, bucketRequesters, bucketSeqs, bucketWriters, bucketCheckpoints, bucketVoids, bucketTokens}

// errFormat: the index was written by another version; it is rebuilt.
var errFormat = errors.New("index of another format")

// ErrIndex: the disk index cannot be used. Delete the file; the gateway
// rebuilds it from the topic.
var ErrIndex = errors.New("audit index unusable")

// boltStore keeps a trail's events in the disk index, and in memory those
// not saved yet, from leaf tail.base on: a save writes them, with the
// trail's state, every SaveEvery records (save.go).
type boltStore struct {
	tail memoryStore
	raws [][]byte // the tail's events as on the topic
	// The voids of leaves below tail.base that are not on disk yet: set
	// since the last save began, or since the one before it, in flight.
	voids    map[int64]string
	newVoids []int64  // the leaves voided since the last save began
	onDisk   voidBits // the leaves whose void the file may hold

	db     *bolt.DB
	path   string
	closed bool
	anchor anchor // the latest checkpoint saved

	saving  bool           // a save is writing
	saves   sync.WaitGroup // the save in flight
	saveErr error          // a save that failed: the trail stops
}

// voidBits has a bit for each leaf modulo 2^20, set for each void on disk:
// a count asks the file about a saved leaf only if its bit is set. A read
// transaction's tx.Bucket costs three allocations, and a count runs for
// every view with a claim; one bit per leaf would grow with the log, as
// the voids held in memory did. Allocated with the first void; at 100,000
// voids on disk, one leaf in ten asked reaches the file.
type voidBits []uint64

const voidBitsWords = 1 << 14 // 2^20 bits, 128 KiB

func (b *voidBits) set(leaf int64) {
	if *b == nil {
		*b = make(voidBits, voidBitsWords)
	}
	x := uint64(leaf) % (voidBitsWords * 64)
	(*b)[x/64] |= 1 << (x % 64)
}

func (b voidBits) has(leaf int64) bool {
	x := uint64(leaf) % (voidBitsWords * 64)
	return b != nil && b[x/64]&(1<<(x%64)) != 0
}

// An anchor is a signed tree that saved events are proven in.
type anchor struct {
	size int64
	root tlog.Hash
}

// OpenTrail returns a trail kept in the disk index at path, created if
// missing, resuming where the index was last saved (Follow starts there).
func OpenTrail(registry *trust.Store, path string, o TrailOptions) (*Trail, error) {
	if o.Deferred {
		return nil, errors.New("audit trail: a disk index is for a gateway's trail, not a verifier's")
	}
	o.KeepEvents = true
	if o.SaveEvery <= 0 {
		o.SaveEvery = diskCommitEvery
	}
	t, err := openTrail(registry, path, o)
	if errors.Is(err, errFormat) {
		// An index is a copy of the topic: one this version cannot read
		// is rebuilt, not fixed.
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("audit index %s: %w", path, err)
		}
		t, err = openTrail(registry, path, o)
	}
	return t, err
}

func openTrail(registry *trust.Store, path string, o TrailOptions) (*Trail, error) {
	t := NewTrail(registry, o)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, InitialMmapSize: indexMmapSize})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("audit index %s is held by another process (a demo or a gateway on the same data?): stop it, or give this gateway an audit.index of its own: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("audit index %s: %w", path, err)
	}
	s := &boltStore{tail: *newMemoryStore(), voids: map[int64]string{}, db: db, path: path}
	t.store = s
	if err := s.load(t); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: %s: %w (delete it to rebuild it from the topic)", ErrIndex, path, err)
	}
	return t, nil
}

// load reads back into t what the index saved, and checks it.
func (s *boltStore) load(t *Trail) error {
	origin := []byte(t.o.Origin + "\x00" + t.o.Topic)
	var latestNote []byte
	var latestOffset int64
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(metaOrigin); {
		case v == nil:
			if err := meta.Put(metaOrigin, origin); err != nil {
				return err
			}
			if err := meta.Put(metaFormat, []byte(indexFormat)); err != nil {
				return err
			}
		case string(v) != string(origin):
			return fmt.Errorf("it indexes another log (%q)", v)
		case string(meta.Get(metaFormat)) != indexFormat:
			return errFormat
		}
		if err := s.loadClaims(tx, t); err != nil {
			return err
		}
		t.next, t.duplicates = u64(meta.Get(metaNext)), u64(meta.Get(metaDuplicates))
		t.nextSeen.Store(t.next)
		s.tail.base = u64(meta.Get(metaSize))
		if v := meta.Get(metaLatest); v != nil {
			latestOffset = u64(v)
			latestNote = tx.Bucket(bucketCheckpoints).Get(v)
			if latestNote == nil {
				return fmt.Errorf("checkpoint at offset %d is missing", latestOffset)
			}
			latestNote = append([]byte(nil), latestNote...)
		}
		err := tx.Bucket(bucketWriters).ForEach(func(k, v []byte) error {
			if len(v) < 8 {
				return fmt.Errorf("writer %q: short entry", k)
			}
			next := u64(v)
			t.writers[string(k)] = &writerState{next: next, leaves: leafRuns{first: next}, lastID: string(v[8:])}
			return nil
		})
		if err != nil {
			return err
		}
		stored := tlog.StoredHashCount(s.tail.base)
		from := stored / hashChunk * hashChunk
		hs, err := chunkHashes(tx.Bucket(bucketHashes).Get(u64key(from/hashChunk)), int(stored-from))
		if err != nil {
			return err
		}
		t.tree = Tree{base: from, hashes: hs, n: s.tail.base, older: s.hashes}
		return nil
	})
	if err != nil {
		return err
	}
	if latestNote == nil {
		return s.checkTail(t, 0) // nothing signed yet: every event is the tail
	}
	c, signer, err := OpenGatewayCheckpoint(latestNote, t.registry.Current())
	if err != nil {
		return fmt.Errorf("its latest checkpoint: %w", err)
	}
	root, err := t.tree.Root(c.Size)
	if err != nil {
		return err
	}
	if root != c.Root {
		return fmt.Errorf("its tree of %d events is not the one the checkpoint at offset %d signs", c.Size, latestOffset)
	}
	t.latest = &Published{Checkpoint: c, Signer: signer, Note: latestNote, Offset: latestOffset}
	s.anchor = anchor{c.Size, c.Root}
	return s.checkTail(t, c.Size)
}

// checkTail hashes the saved events from leaf from on again into a tree
// that shares only the signed part of the stored one, and compares roots.
func (s *boltStore) checkTail(t *Trail, from int64) error {
	size := t.tree.Size()
	if from >= size {
		return nil
	}
	leaves := make([]tlog.Hash, 0, size-from)
	err := s.db.View(func(tx *bolt.Tx) error {
		events := tx.Bucket(bucketEvents)
		for i := from; i < size; i++ {
			v := events.Get(u64key(i))
			if len(v) < 8 {
				return fmt.Errorf("leaf %d is missing", i)
			}
			leaves = append(leaves, tlog.RecordHash(v[8:]))
		}
		return nil
	})
	if err != nil {
		return err
	}
	redo := Tree{base: tlog.StoredHashCount(from), n: from, older: s.hashes}
	for _, h := range leaves {
		if _, err := redo.AppendHash(h); err != nil {
			return err
		}
	}
	want, err := redo.Root(size)
	if err != nil {
		return err
	}
	if got, err := t.tree.Root(size); err != nil || got != want {
		return fmt.Errorf("its tree of %d events is not the hash of its events after leaf %d", size, from)
	}
	return nil
}

// checkResume: the index has read further than the topic holds if it is
// of an earlier topic of the same name (a broker reset), and following
// from there would miss what the new one holds.
func (s *boltStore) checkResume(ctx context.Context, client *bus.Client, t *Trail, next int64) error {
	if next == 0 {
		return nil
	}
	hw, err := client.HighWatermark(ctx, t.o.Topic, 0)
	if err != nil {
		return err
	}
	if next > hw {
		return fmt.Errorf("%w: %s: it has read %s up to offset %d, the topic ends at %d (delete it to rebuild it from the topic)", ErrIndex, s.path, t.o.Topic, next, hw)
	}
	return nil
}

func (s *boltStore) writable() error {
	if s.closed {
		return ErrClosed
	}
	return nil
}
