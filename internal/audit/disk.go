package audit

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/valyala/fastjson"
	bolt "go.etcd.io/bbolt"
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

type diskIndex struct {
	db     *bolt.DB
	path   string
	closed bool
	anchor anchor // the latest checkpoint saved
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
	if err != nil {
		return nil, fmt.Errorf("audit index %s: %w", path, err)
	}
	t.disk = &diskIndex{db: db, path: path}
	if err := t.load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: %s: %w (delete it to rebuild it from the topic)", ErrIndex, path, err)
	}
	return t, nil
}

func (t *Trail) load() error {
	origin := []byte(t.o.Origin + "\x00" + t.o.Topic)
	var latestNote []byte
	var latestOffset int64
	err := t.disk.db.Update(func(tx *bolt.Tx) error {
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
		if err := t.loadClaims(tx); err != nil {
			return err
		}
		t.next, t.duplicates = u64(meta.Get(metaNext)), u64(meta.Get(metaDuplicates))
		t.nextSeen.Store(t.next)
		t.base = u64(meta.Get(metaSize))
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
		stored := tlog.StoredHashCount(t.base)
		from := stored / hashChunk * hashChunk
		hs, err := chunkHashes(tx.Bucket(bucketHashes).Get(u64key(from/hashChunk)), int(stored-from))
		if err != nil {
			return err
		}
		t.tree = Tree{base: from, hashes: hs, n: t.base, disk: t.disk.hashes}
		return nil
	})
	if err != nil {
		return err
	}
	if latestNote == nil {
		return t.checkTail(0) // nothing signed yet: every event is the tail
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
	t.disk.anchor = anchor{c.Size, c.Root}
	return t.checkTail(c.Size)
}

// checkTail hashes the saved events from leaf from on again into a tree
// that shares only the signed part of the stored one, and compares roots.
func (t *Trail) checkTail(from int64) error {
	size := t.tree.Size()
	if from >= size {
		return nil
	}
	leaves := make([]tlog.Hash, 0, size-from)
	err := t.disk.db.View(func(tx *bolt.Tx) error {
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
	redo := Tree{base: tlog.StoredHashCount(from), n: from, disk: t.disk.hashes}
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

// CheckResume fails if the index has read further than the topic holds:
// it is of an earlier topic of the same name (a broker reset), and
// following from there would miss what the new one holds.
func (t *Trail) CheckResume(ctx context.Context, client *bus.Client) error {
	t.mu.RLock()
	next := t.next
	t.mu.RUnlock()
	if t.disk == nil || next == 0 {
		return nil
	}
	hw, err := client.HighWatermark(ctx, t.o.Topic, 0)
	if err != nil {
		return err
	}
	if next > hw {
		return fmt.Errorf("%w: %s: it has read %s up to offset %d, the topic ends at %d (delete it to rebuild it from the topic)", ErrIndex, t.disk.path, t.o.Topic, next, hw)
	}
	return nil
}

// A snapshot is what a save writes: the records the trail has gathered
// since the last one, up to offset next.
type snapshot struct {
	next, size, duplicates int64
	latest                 *Published
	hashFrom               int64
	hashes                 []tlog.Hash
	events                 []Entry
	raws                   [][]byte
	writers                map[string]writerState
	checkpoints            []Published
	voids                  map[int64]string
	tokens                 map[string]int64
	lastTime               time.Time // the latest event time read
}

// How a save starts.
type saveMode int

const (
	saveAsync  saveMode = iota // in the background, unless one is in flight
	saveBehind                 // in the background, after the one in flight
	saveNow                    // after the one in flight, returning once written
)

// save writes what the trail has gathered, in one transaction with the
// offset to resume at. The write runs without t.mu, so views counting
// fair use and auditors reading the trail never wait for the disk: the
// trail keeps the saved records in memory until the write has landed,
// then drops them. One save at a time; t.mu is held.
func (t *Trail) save(mode saveMode) error {
	if t.saving {
		if mode == saveAsync {
			return nil
		}
		// A replay can read faster than bbolt writes: past a few saves'
		// worth, reading waits for the disk rather than filling memory.
		t.mu.Unlock()
		t.saves.Wait()
		t.mu.Lock()
	}
	if t.saveErr != nil {
		return t.saveErr
	}
	snap := t.snapshot()
	t.saving = true
	t.saves.Add(1)
	write := func() error {
		err := t.write(snap)
		t.mu.Lock()
		defer t.mu.Unlock()
		defer t.saves.Done()
		t.saving = false
		if err != nil {
			t.saveErr = fmt.Errorf("audit index %s: save: %w", t.disk.path, err)
			return t.saveErr
		}
		t.trim(snap)
		return nil
	}
	if mode != saveNow {
		go write()
		return nil
	}
	t.mu.Unlock()
	err := write()
	t.mu.Lock()
	return err
}

func (t *Trail) snapshot() *snapshot {
	from, hs := t.tree.unsaved()
	s := &snapshot{next: t.next, size: t.tree.Size(), duplicates: t.duplicates, latest: t.latest, lastTime: t.lastTime,
		hashFrom: from, hashes: hs, events: t.events, raws: t.raws, checkpoints: t.checkpoints,
		writers: make(map[string]writerState, len(t.writers)),
		voids:   make(map[int64]string, len(t.newVoids)), tokens: make(map[string]int64, len(t.newTokens))}
	for _, i := range t.newVoids {
		s.voids[i] = t.voided[i]
	}
	t.tokMu.Lock()
	for _, k := range t.newTokens {
		if exp, ok := t.tokens[k]; ok {
			s.tokens[k] = exp
		}
	}
	t.tokMu.Unlock()
	t.newVoids, t.newTokens = nil, nil
	for name, w := range t.writers {
		sw := *w
		sw.leaves = w.leaves.clone()
		s.writers[name] = sw
	}
	return s
}

func (t *Trail) write(s *snapshot) error {
	return t.disk.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketHashes)
		b.FillPercent = 1 // appended in key order
		for i := 0; i < len(s.hashes); i += hashChunk {
			v := make([]byte, 0, hashChunk*tlog.HashSize)
			for _, h := range s.hashes[i:min(i+hashChunk, len(s.hashes))] {
				v = append(v, h[:]...)
			}
			if err := b.Put(u64key((s.hashFrom+int64(i))/hashChunk), v); err != nil {
				return err
			}
		}
		if err := writeEvents(tx, s); err != nil {
			return err
		}
		if err := writeClaims(tx, s); err != nil {
			return err
		}
		seqs, writers := tx.Bucket(bucketSeqs), tx.Bucket(bucketWriters)
		for name, w := range s.writers {
			err := w.leaves.each(func(seq, leaf int64) error { return seqs.Put(named(name, seq), u64key(leaf)) })
			if err != nil {
				return err
			}
			if err := writers.Put([]byte(name), append(u64key(w.next), w.lastID...)); err != nil {
				return err
			}
		}
		cps := tx.Bucket(bucketCheckpoints)
		cps.FillPercent = 1
		for _, p := range s.checkpoints {
			if err := cps.Put(u64key(p.Offset), p.Note); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		kv := [][2][]byte{{metaNext, u64key(s.next)}, {metaSize, u64key(s.size)}, {metaDuplicates, u64key(s.duplicates)}}
		if s.latest != nil {
			kv = append(kv, [2][]byte{metaLatest, u64key(s.latest.Offset)})
		}
		for _, e := range kv {
			if err := meta.Put(e[0], e[1]); err != nil {
				return err
			}
		}
		return nil
	})
}

func writeEvents(tx *bolt.Tx, s *snapshot) error {
	events, ids, citizens, requesters := tx.Bucket(bucketEvents), tx.Bucket(bucketIDs), tx.Bucket(bucketCitizens), tx.Bucket(bucketRequesters)
	events.FillPercent = 1
	// Each index is written in key order, so that the pages a save
	// rewrites are visited once each, not found again for every key.
	type put struct{ k, v []byte }
	byID, byCitizen, byRequester := make([]put, 0, len(s.events)), make([]put, 0, len(s.events)), make([]put, 0, len(s.events))
	for k, e := range s.events {
		leaf := u64key(e.Index)
		if err := events.Put(leaf, append(u64key(e.Offset), s.raws[k]...)); err != nil {
			return err
		}
		if s.voids[e.Index] != VoidDuplicate { // an id names its first copy
			byID = append(byID, put{[]byte(e.ID), leaf})
		}
		if e.Citizen != "" {
			byCitizen = append(byCitizen, put{named(e.Citizen, e.Index), summarize(&e)})
		}
		if e.Requester != "" {
			byRequester = append(byRequester, put{named(e.Requester, e.Index), nil})
		}
	}
	for _, ix := range []struct {
		b    *bolt.Bucket
		puts []put
	}{{ids, byID}, {citizens, byCitizen}, {requesters, byRequester}} {
		slices.SortFunc(ix.puts, func(a, b put) int { return bytes.Compare(a.k, b.k) })
		for _, p := range ix.puts {
			if err := ix.b.Put(p.k, p.v); err != nil {
				return err
			}
		}
	}
	return nil
}

// trim drops from memory what a save has written; t.mu is held.
func (t *Trail) trim(s *snapshot) {
	if s.latest != nil {
		t.disk.anchor = anchor{s.latest.Size, s.latest.Root}
	}
	stored := s.hashFrom + int64(len(s.hashes))
	t.tree.saved(stored / hashChunk * hashChunk)
	t.base = s.size
	for _, e := range s.events {
		if t.byID[e.ID] == e.Index {
			delete(t.byID, e.ID)
		}
		if ci := t.byCitizen[e.Citizen]; ci != nil {
			i := 0
			for i < len(ci.leaves) && ci.leaves[i] < t.base {
				i++
			}
			if ci.leaves = ci.leaves[i:]; len(ci.leaves) == 0 {
				delete(t.byCitizen, e.Citizen)
			}
		}
	}
	n := len(s.events)
	// Sized for the next save, so that filling it does not copy it again
	// and again.
	t.events = append(make([]Entry, 0, t.o.SaveEvery+len(t.events)-n), t.events[n:]...)
	t.raws = append(make([][]byte, 0, t.o.SaveEvery+len(t.raws)-n), t.raws[n:]...)
	t.checkpoints = append([]Published(nil), t.checkpoints[len(s.checkpoints):]...)
	for name, sw := range s.writers {
		w := t.writers[name]
		w.leaves.dropBefore(sw.next)
	}
	// Sharing is only a saving: what the saved events shared need not be
	// kept for the next ones.
	t.in.reset()
}

// Close saves what the trail has gathered and closes its disk index. It
// waits for an Add in progress: only one may wait for a save.
func (t *Trail) Close() error {
	t.addMu.Lock()
	defer t.addMu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.disk == nil || t.disk.closed {
		return nil
	}
	t.disk.closed = true
	return errors.Join(t.save(saveNow), t.disk.db.Close())
}

// hashes reads stored hashes of the tree.
func (d *diskIndex) hashes(idx []int64) ([]tlog.Hash, error) {
	var out []tlog.Hash
	err := d.db.View(func(tx *bolt.Tx) error {
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

func (d *diskIndex) leafOf(writer string, seq int64) (int64, error) {
	var leaf int64 = -1
	err := d.db.View(func(tx *bolt.Tx) error {
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

func (d *diskIndex) index(id string) (int64, bool, error) {
	var leaf int64
	var ok bool
	err := d.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketIDs).Get([]byte(id))
		leaf, ok = u64(v), v != nil
		return nil
	})
	return leaf, ok, err
}

func (d *diskIndex) event(i int64) (Entry, bool, error) {
	var e Entry
	err := d.db.View(func(tx *bolt.Tx) error {
		var p fastjson.Parser
		var err error
		e, err = readEvent(tx, &p, d.anchor, i)
		return err
	})
	return e, err == nil, err
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

// events visits the saved events below base that may match f, in log
// order, through the citizen or requester index when f names one; it
// reports whether visit stopped.
func (d *diskIndex) events(f Filter, base int64, visit func(*Entry) bool) (stopped bool, err error) {
	err = d.db.View(func(tx *bolt.Tx) error {
		var p fastjson.Parser
		each := func(leaf int64) (bool, error) {
			e, err := readEvent(tx, &p, d.anchor, leaf)
			if err != nil {
				return false, err
			}
			return !visit(&e), nil
		}
		first := max(f.After+1, 0)
		switch {
		case f.Citizen != "":
			stopped, err = scan(tx.Bucket(bucketCitizens), f.Citizen, first, base, func(leaf int64, v []byte) (bool, error) {
				if s, ok := unsummarize(f.Citizen, leaf, v); ok && !f.matches(&s) {
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

// count counts, from the citizen index alone, the saved events of citizen
// below base that ok takes.
func (d *diskIndex) count(citizen string, base int64, ok func(*Entry) bool) (int, error) {
	n := 0
	err := d.db.View(func(tx *bolt.Tx) error {
		_, err := scan(tx.Bucket(bucketCitizens), citizen, 0, base, func(leaf int64, v []byte) (bool, error) {
			s, good := unsummarize(citizen, leaf, v)
			if !good {
				return false, fmt.Errorf("%w: the summary of leaf %d is corrupt", ErrIndex, leaf)
			}
			if ok(&s) {
				n++
			}
			return false, nil
		})
		return err
	})
	return n, err
}

// writeClaims saves what the claims settled since the last save, and
// forgets the tokens no gateway accepts any more.
func writeClaims(tx *bolt.Tx, s *snapshot) error {
	voids, tokens := tx.Bucket(bucketVoids), tx.Bucket(bucketTokens)
	for i, code := range s.voids {
		if err := voids.Put(u64key(i), []byte(code)); err != nil {
			return err
		}
	}
	for k, exp := range s.tokens {
		if err := tokens.Put(append(u64key(exp), k...), nil); err != nil {
			return err
		}
	}
	// By the log's own clock, as the trail in memory forgets them.
	cutoff := s.lastTime.Add(-TokenWindow).Unix()
	c := tokens.Cursor()
	for k, _ := c.First(); k != nil && u64(k) < cutoff; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// loadClaims reads back what the claims of the saved events settled.
func (t *Trail) loadClaims(tx *bolt.Tx) error {
	err := tx.Bucket(bucketVoids).ForEach(func(k, v []byte) error {
		t.voided[u64(k)] = string(v)
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
