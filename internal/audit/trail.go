package audit

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fastjson"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

// Record is what the trail needs of one record of the audit topic.
type Record struct {
	Offset int64
	Key    []byte
	Value  []byte
	Batch  []byte // header passerelle-batch
	Sig    []byte // header passerelle-sig
}

// Entry is an event of the trail with its place in the tree and the topic.
type Entry struct {
	Index  int64 `json:"index"`  // leaf index
	Offset int64 `json:"offset"` // on the topic
	Event
	// Void is why the log counts this event as having released nothing,
	// whatever its decision says (claims.go); empty if it stands.
	Void string `json:"void,omitempty"`
}

// Published is a checkpoint found on the topic.
type Published struct {
	Checkpoint
	Signer string // the gateway member whose key signed it
	Note   []byte
	Offset int64
}

// TrailOptions configure a Trail.
type TrailOptions struct {
	// Topic is the log's topic.
	Topic string
	// Origin is the first line of the log's checkpoints; it defaults to
	// Topic. A copy of the log on another topic is verified with the
	// origin of the original.
	Origin string
	// KeepEvents keeps every event for queries (the gateway); a verifier
	// keeps only the tree.
	KeepEvents bool
	// Metrics, if set, registers the trail's series.
	Metrics prometheus.Registerer
	// Deferred checks an event's signature only if no checkpoint vouches
	// for it. A gateway signs a checkpoint only over events whose signatures
	// it checked, so a matching checkpoint authenticates every event before
	// it; a verifier then spends one Ed25519 verification a checkpoint, not
	// one a group commit. A checkpoint that does not match, and the events
	// after the last one, are checked event by event, so a forged event is
	// still named. Call Finish after the last record.
	Deferred bool
	// SaveEvery is how many records a trail with a disk index gathers
	// before it saves them (in the background); zero is diskCommitEvery. Tests make it small,
	// so that their few events are read back from the disk.
	SaveEvery int
	// Anchors are signed checkpoints kept outside the log (a witness's, one
	// asked of a gateway): Finish fails unless the log extends each.
	Anchors []Checkpoint
	// VerifyHashes is how many of the tree's stored hashes a verifier
	// (Deferred) keeps in memory, the older ones in a temporary file; zero
	// is DefaultVerifyHashes. Tests make it small, which also bounds the
	// events whose signature check waits for a checkpoint.
	VerifyHashes int
}

// Trail replays the audit topic: it checks each event's signature (a
// gateway's key), each writer's sequence and each checkpoint against the
// tree it rebuilds. The gateway follows the topic with one, to sign
// checkpoints and answer auditors; `passerelle audit verify` replays into
// one and stops at the first Finding.
type Trail struct {
	o        TrailOptions
	registry *trust.Store
	verifier *seal.Verifier
	parser   fastjson.Parser

	mu          sync.RWMutex
	tree        Tree
	writers     map[string]*writerState
	checkpoints []Published  // in topic order; with a disk index, those not saved yet
	latest      *Published   // the largest checkpoint
	next        int64        // offset after the last record added
	nextSeen    atomic.Int64 // next, for readers that must not wait for t.mu

	// The events kept for queries and claims (store.go), and the strings
	// the ones in memory share.
	store      eventStore
	in         *interner
	duplicates int64
	// copies are the second copies of events read since the last
	// checkpoint that matched: a producer's retry, which the next
	// checkpoint signs, or a record written again into the log, which it
	// does not (and then the copy is what a finding names).
	copies []copyOf

	// What the claims of the events read so far settled (claims.go),
	// beside the voids the store keeps with its events.
	pendingVoids map[string]string // event id not read yet → void code
	tokMu        sync.Mutex        // guards tokens, which requests read
	tokens       map[string]int64  // token → its expiry
	tokensSwept  time.Time
	lastTime     time.Time // the latest event time read

	ready    chan struct{}
	findings *prometheus.CounterVec

	unchecked []uncheckedEvent // Deferred: events no checkpoint vouches for yet
	spill     *hashFile        // Deferred: the tree's older hashes

	// The leaf hashes of events this process's Log is writing, by writer:
	// such an event is checked by its hash, not its signature. A record
	// claiming one of these writers with other bytes is verified as any.
	expectMu sync.Mutex
	expect   map[string]*expectedEvents

	client  *bus.Client  // set by Follow, for Sync and CatchUp
	log     *slog.Logger // set by Follow
	catchMu sync.Mutex   // one catch-up fetch at a time
	addMu   sync.Mutex   // one Add at a time from the follower and catch-ups
}

type copyOf struct {
	offset, leaf, of int64
	id               string
}

// maxCopies bounds the copies remembered between two checkpoints.
const maxCopies = 1024

type writerState struct {
	next int64
	// The leaf of each seq from leaves.first on; those before it are in
	// the store (a disk index).
	leaves leafRuns
	lastID string // id of the event of seq next-1
}

// leaf returns the leaf index of an event of the writer already read.
func (t *Trail) leafOf(writer string, w *writerState, seq int64) (int64, error) {
	if seq >= w.leaves.first {
		return w.leaves.at(seq), nil
	}
	return t.store.leafOf(writer, seq)
}

// NewTrail returns an empty trail trusting the gateways of registry.
func NewTrail(registry *trust.Store, o TrailOptions) *Trail {
	if o.Origin == "" {
		o.Origin = o.Topic
	}
	t := &Trail{o: o, registry: registry, verifier: seal.NewVerifier(registry), writers: map[string]*writerState{},
		store: newMemoryStore(), ready: make(chan struct{}), log: slog.New(slog.DiscardHandler),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passerelle_audit_findings_total",
			Help: "Records of the audit topic that are not what a gateway wrote, by what is wrong.",
		}, []string{"finding"})}
	if o.KeepEvents {
		t.in = newInterner()
		t.pendingVoids, t.tokens = map[string]string{}, map[string]int64{}
	}
	if o.Metrics != nil {
		o.Metrics.MustRegister(t.findings, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "passerelle_audit_tree_size",
			Help: "Events in the audit tree this gateway has read.",
		}, func() float64 { return float64(t.Size()) }), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			// Alert when it stays above zero for more than a few checkpoint
			// intervals: no gateway is signing the log.
			Name: "passerelle_audit_unsigned_events",
			Help: "Events read that no checkpoint on the topic signs yet.",
		}, func() float64 {
			latest, _ := t.Latest()
			return float64(t.Size() - latest.Size)
		}))
	}
	return t
}

// Add takes the next record of the topic. A forged or unreadable record is
// not a leaf; a gap in a writer's sequence is still one (the events around
// it are genuine). Either way Add returns a *Finding. Records are added one
// at a time, in topic order.
func (t *Trail) Add(r Record) error {
	if r.Offset < t.nextSeen.Load() {
		return nil // read already, by a catch-up (CatchUp) or before a resume
	}
	// Parsing, hashing and a foreign event's signature need no state:
	// done before the lock, the requests asking the trail meanwhile do not
	// wait for them.
	p := t.prepare(r)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.store.writable(); err != nil {
		return err
	}
	t.next = r.Offset + 1
	err := t.add(r, p)
	// Said read only once counted: settling an event lets readers in while
	// it counts a claim (usesUnlocked), and a gateway drops its hold on a
	// use once Next is past the use's event. Published before, a count in
	// between would miss both the hold and the event.
	t.nextSeen.Store(t.next)
	if serr := t.store.gathered(t); serr != nil {
		return serr
	}
	return err
}

// prepared is what Add learns of a record before it takes the lock.
type prepared struct {
	doc        *fastjson.Value
	id, writer string
	seq        int64
	leaf       tlog.Hash
	finding    *Finding
}

func (t *Trail) prepare(r Record) prepared {
	if string(r.Key) == CheckpointKey {
		return prepared{}
	}
	doc, id, writer, seq, err := t.parseEvent(r.Value)
	if err != nil {
		return prepared{finding: &Finding{Offset: r.Offset, Err: ErrMalformedEvent, Detail: err.Error()}}
	}
	// Hashed once: the own-event check, the retry check and the tree.
	p := prepared{doc: doc, id: id, writer: writer, seq: seq, leaf: tlog.RecordHash(r.Value)}
	if !t.o.Deferred && !t.expected(writer, seq, p.leaf) {
		if err := t.checkSigner(r); err != nil {
			p.finding = &Finding{Offset: r.Offset, Event: id, Err: ErrForged, Detail: err.Error()}
		}
	}
	return p
}

func (t *Trail) add(r Record, p prepared) error {
	if string(r.Key) == CheckpointKey {
		return t.addCheckpoint(r)
	}
	if p.finding != nil {
		return p.finding
	}
	doc, id, writer, seq, leaf := p.doc, p.id, p.writer, p.seq, p.leaf
	if id != string(r.Key) {
		return &Finding{Offset: r.Offset, Event: id, Err: ErrForged, Detail: fmt.Sprintf("keyed %q", r.Key)}
	}
	w := t.writers[writer]
	if w == nil {
		w = &writerState{}
		t.writers[writer] = w
	}
	retry := seq < w.next
	if retry {
		// kafka-go retries a produce whose answer it lost: the same signed
		// event twice. Only an identical copy is a retry.
		index, err := t.leafOf(writer, w, seq)
		if err != nil {
			return err
		}
		if h, err := t.tree.LeafHash(index); err != nil || h != leaf {
			return &Finding{Offset: r.Offset, Event: id, Err: ErrForged, Detail: fmt.Sprintf("writer %s seq %d reused with other content", writer, seq)}
		}
		t.duplicates++
		if len(t.copies) < maxCopies {
			t.copies = append(t.copies, copyOf{offset: r.Offset, id: id, leaf: t.tree.Size(), of: index})
		}
	}
	index, err := t.tree.AppendHash(leaf)
	if err != nil {
		return err
	}
	if t.o.Deferred {
		t.unchecked = append(t.unchecked, uncheckedEvent{index: index, id: id, r: r})
		if err := t.bound(); err != nil {
			return err
		}
	}
	var gap *Finding
	if seq > w.next {
		missing := fmt.Sprintf("event seq %d is", w.next)
		if seq > w.next+1 {
			missing = fmt.Sprintf("events seq %d to %d are", w.next, seq-1)
		}
		after := "the first of its writer"
		if w.next > 0 {
			after = fmt.Sprintf("after event %s (seq %d)", w.lastID, w.next-1)
		}
		gap = &Finding{Offset: r.Offset, Event: id, Err: ErrDropped,
			Detail: fmt.Sprintf("writer %s: %s missing before this one (seq %d), %s", writer, missing, seq, after)}
	}
	for ; w.next <= seq; w.next++ {
		w.leaves.push(index)
	}
	w.lastID = id
	if t.o.KeepEvents {
		if err := t.keep(index, r, doc, retry); err != nil {
			return err
		}
	}
	if gap != nil {
		return gap
	}
	return nil
}

// parseEvent reads what the trail checks of an event; doc is valid until
// the next parse.
func (t *Trail) parseEvent(v []byte) (doc *fastjson.Value, id, writer string, seq int64, err error) {
	doc, err = t.parser.ParseBytes(v)
	if err != nil {
		return nil, "", "", 0, fmt.Errorf("not JSON: %w", err)
	}
	idv, wv, sv := doc.GetStringBytes("id"), doc.GetStringBytes("writer"), doc.Get("seq")
	if len(idv) == 0 || len(wv) == 0 || sv == nil {
		return nil, "", "", 0, errors.New("lacks id, writer or seq")
	}
	seq, err = sv.Int64()
	if err != nil || seq < 0 {
		return nil, "", "", 0, fmt.Errorf("seq is not a count")
	}
	return doc, string(idv), string(wv), seq, nil
}

func (t *Trail) checkSigner(r Record) error {
	k, err := t.verifier.Signature(r.Value, r.Sig, r.Batch)
	if err != nil {
		return err
	}
	m, err := t.registry.Current().Member(k.Member)
	if err != nil || !m.Has(trust.RoleGateway) {
		return fmt.Errorf("signed by %s, which is not a gateway", k.Member)
	}
	return nil
}

func (t *Trail) addCheckpoint(r Record) error {
	c, signer, err := OpenGatewayCheckpoint(r.Value, t.registry.Current())
	if err != nil {
		detail := strings.TrimPrefix(err.Error(), ErrCheckpoint.Error()+": ")
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			detail = "signed by no gateway key of the member registry"
		}
		return &Finding{Offset: r.Offset, Checkpoint: true, Err: ErrCheckpoint, Detail: detail}
	}
	switch {
	case c.Origin != t.o.Origin:
		return &Finding{Offset: r.Offset, Checkpoint: true, Err: ErrCheckpoint, Detail: fmt.Sprintf("origin %q is another log's", c.Origin)}
	case c.Size > t.tree.Size():
		return &Finding{Offset: r.Offset, Checkpoint: true, Err: ErrDropped,
			Detail: fmt.Sprintf("checkpoint signs %d events, %d precede it", c.Size, t.tree.Size())}
	}
	root, err := t.tree.Root(c.Size)
	if err != nil {
		return err
	}
	if root != c.Root {
		// A forged event is the likeliest cause, and the one to name;
		// then a copy of an event written into the log again.
		if err := t.checkUnchecked(c.Size); err != nil {
			return err
		}
		for _, cp := range t.copies {
			if cp.leaf < c.Size {
				return &Finding{Offset: cp.offset, Event: cp.id, Err: ErrRootMismatch, Detail: fmt.Sprintf(
					"leaf %d is a second copy of leaf %d, which the checkpoint at offset %d does not sign: a record written into the log again", cp.leaf, cp.of, r.Offset)}
			}
		}
		return &Finding{Offset: r.Offset, Checkpoint: true, Err: ErrRootMismatch, Detail: t.firstDifference(c.Size)}
	}
	t.vouched(c.Size)
	t.copies = slices.DeleteFunc(t.copies, func(cp copyOf) bool { return cp.leaf < c.Size })
	p := Published{Checkpoint: c, Signer: signer, Note: bytes.Clone(r.Value), Offset: r.Offset}
	if t.latest == nil || c.Size >= t.latest.Size {
		t.latest = &p
	}
	t.checkpoints = append(t.checkpoints, p)
	return nil
}

// firstDifference says where a replayed tree first departs from the last
// checkpoint that matched: the event is after that checkpoint's size.
func (t *Trail) firstDifference(size int64) string {
	var last int64
	if t.latest != nil && t.latest.Size < size {
		last = t.latest.Size
	}
	for _, p := range t.checkpoints {
		if p.Size < size && p.Size > last {
			last = p.Size
		}
	}
	return fmt.Sprintf("root of the first %d events differs from the signed one: an event between leaf %d and leaf %d was altered, inserted or removed", size, last, size-1)
}

// Size is the number of leaves.
func (t *Trail) Size() int64 { return t.tree.Size() }

// Duplicates counts events written twice by a producer retry.
func (t *Trail) Duplicates() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.duplicates
}

// Checkpoints lists the checkpoints seen, in topic order; with a disk
// index, those since it last saved.
func (t *Trail) Checkpoints() []Published {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return append([]Published(nil), t.checkpoints...)
}

// Latest is the largest checkpoint seen, if any.
func (t *Trail) Latest() (Published, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.latest == nil {
		return Published{}, false
	}
	return *t.latest, true
}

// Close saves what the trail has gathered and closes its disk index, if
// it has one. It waits for an Add in progress: only one may wait for a
// save.
func (t *Trail) Close() error {
	t.addMu.Lock()
	defer t.addMu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.store.close(t)
}

// Tree is the trail's Merkle tree.
func (t *Trail) Tree() *Tree { return &t.tree }

// Index returns the leaf index of an event id (of its first copy).
func (t *Trail) Index(id string) (int64, bool, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	i, _, ok, err := t.store.index(id)
	return i, ok, err
}
