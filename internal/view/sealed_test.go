package view_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/datakeys"
	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/domains/tax"
	"github.com/passerelle-bus/passerelle/internal/fieldcrypt"
	"github.com/passerelle-bus/passerelle/internal/kek"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/schemas"
)

// sealedWorld publishes sealed tax records as a connector would, and
// reads them as a gateway would: its ledger from the key records, its
// view opening records when asked.
type sealedWorld struct {
	codec      *schemas.Codec
	store      *trust.Store
	kek        kek.KEK
	dgfip, gw  *seal.Sealer
	conn, gwKL *datakeys.Ledger
	sealing    *datakeys.Sealing
	ix         *view.Index
	plan       *fieldcrypt.Plan
	sub        *schemas.Subject
	client     *bus.Client
	writer     *bus.Writer
}

func newSealedWorld(t *testing.T, k kek.KEK) *sealedWorld {
	w := trusttest.New(t, []trust.MemberSpec{
		{ID: "dgfip", Name: "DGFiP", Roles: []string{trust.PublisherRole("tax")}},
		{ID: "gw", Name: "gateway", Roles: []string{trust.RoleGateway}},
	})
	cat, _ := domains.Catalog()
	sw := &sealedWorld{codec: schemas.NewCodec(cat), store: w.Store(t), kek: k,
		dgfip: seal.NewSealer(w.Signer(t, "dgfip")), gw: seal.NewSealer(w.Signer(t, "gw"))}
	isGW := func(m string) bool {
		mem, err := sw.store.Current().Member(m)
		return err == nil && mem.Has(trust.RoleGateway)
	}
	sw.client = bustest.Embedded(t).Client(t)
	if err := sw.client.EnsureTopics(context.Background(), domains.Topics(1)...); err != nil {
		t.Fatal(err)
	}
	sw.writer = sw.client.NewWriter(nil)
	t.Cleanup(func() { sw.writer.Close() })
	sw.conn = datakeys.New("tax", k, sw.store, datakeys.Options{IsGateway: isGW})
	follow(t, sw.conn, sw.client)
	sw.gwKL = datakeys.New("tax", k, sw.store, datakeys.Options{IsGateway: isGW})
	follow(t, sw.gwKL, sw.client)
	d, _ := domains.ByName("tax")
	sw.sub, _ = cat.Subject(d.Subject())
	var err error
	if sw.sealing, err = datakeys.NewSealing(sw.conn, sw.dgfip, sw.sub, d.Sealed()); err != nil {
		t.Fatal(err)
	}
	sw.plan, _ = fieldcrypt.NewPlan("tax", sw.sub.Latest().Schema, d.Sealed())
	opener, err := datakeys.NewOpener(cat, map[string]*datakeys.Ledger{"tax": sw.gwKL})
	if err != nil {
		t.Fatal(err)
	}
	sw.ix = view.New(view.NewMemory(), sw.codec, sw.store, prometheus.NewRegistry(), nil)
	sw.ix.Open(opener)
	return sw
}

// household is the sample household of subject, clear on the wire.
func (sw *sealedWorld) household(t *testing.T, subject, recordID string, income int64) []byte {
	h := mustDomain("tax").Sample().(*tax.Household)
	h.Meta = domain.SampleMeta("tax")
	h.Meta.Source = "dgfip"
	h.Meta.Subject, h.Meta.RecordID, h.ReferenceIncomeCents = subject, recordID, income
	h.Meta.EventTime = time.Now().UTC().Truncate(time.Millisecond)
	wire, err := sw.codec.Encode(sw.sub.Name, h)
	if err != nil {
		t.Fatal(err)
	}
	return wire
}

// publish seals and signs records as the connector does, and takes the
// new key records into the gateway's ledger.
func (sw *sealedWorld) publish(t *testing.T, wires [][]byte, subjects, recordIDs []string) []bus.Message {
	ctx := context.Background()
	keys, keyMsgs, err := sw.sealing.Keys(ctx, subjects)
	if err != nil {
		t.Fatal(err)
	}
	sw.write(t, keyMsgs)
	values := make([][]byte, len(wires))
	for i := range wires {
		if values[i], err = sw.sealing.Seal(wires[i], keys[subjects[i]], subjects[i], recordIDs[i]); err != nil {
			t.Fatal(err)
		}
	}
	return sw.sign(t, values, subjects)
}

// write puts key records on the key topic, as the connector does before
// the records sealed with them; the ledgers learn them by following it.
func (sw *sealedWorld) write(t *testing.T, ms []bus.Message) {
	if err := sw.writer.Write(context.Background(), ms...); err != nil {
		t.Fatal(err)
	}
}

func (sw *sealedWorld) sign(t *testing.T, values [][]byte, subjects []string) []bus.Message {
	hdrs, err := sw.dgfip.SignBatch(context.Background(), values)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]bus.Message, len(values))
	for i := range values {
		out[i] = bus.Message{Topic: "passerelle.tax.household.v1", Key: []byte(subjects[i]), Value: values[i], Offset: int64(i),
			Headers: []bus.Header{{Key: seal.HeaderBatch, Value: hdrs[i]}}}
	}
	return out
}

func (sw *sealedWorld) ingest(t *testing.T, ms []bus.Message) {
	for _, m := range ms {
		if err := sw.ix.Ingest("tax", m); err != nil {
			t.Fatal(err)
		}
	}
}

// The view holds sealed records as published and serves them opened; an
// erased citizen's record is no longer served, however it is read.
func TestSealedRecordsServedOpenedUntilErased(t *testing.T) {
	ctx := context.Background()
	sw := newSealedWorld(t, kek.NewFiles(t.TempDir()))
	ms := sw.publish(t, [][]byte{sw.household(t, "s1", "r1", 4200000), sw.household(t, "s2", "r2", 1800000)},
		[]string{"s1", "s2"}, []string{"r1", "r2"})
	sw.ingest(t, ms)
	r, ok, err := sw.ix.Lookup(ctx, "tax", "s1")
	if err != nil || !ok {
		t.Fatalf("lookup: %v %v", ok, err)
	}
	if h := r.Value.(*tax.Household); h.ReferenceIncomeCents != 4200000 || h.HouseholdID == "" || h.CommuneCode == "" {
		t.Fatalf("opened record: %+v", h)
	}
	// Erased: no record of s1, s2 untouched.
	erase := &datakeys.Record{Kind: datakeys.KindErased, Domain: "tax", Subject: "s1", Time: time.Now(),
		Erasure: &datakeys.Erasure{ID: "e1", Reason: "right to erasure", LegalBasis: "GDPR art. 17(1)(a)", KeyIDs: []string{keyIDOf(t, sw, ms[0])}}}
	em, err := datakeys.Messages(ctx, sw.gw, []*datakeys.Record{erase})
	if err != nil {
		t.Fatal(err)
	}
	sw.write(t, em)
	waitFor(t, func() bool {
		_, err := sw.gwKL.Key(ctx, "s1", firstKey(t, sw, ms[0]))
		return errors.Is(err, fieldcrypt.ErrShredded)
	})
	if _, ok, err := sw.ix.Lookup(ctx, "tax", "s1"); ok || err != nil {
		t.Fatalf("erased citizen: served %v, %v", ok, err)
	}
	if _, ok, err := sw.ix.Lookup(ctx, "tax", "s2"); !ok || err != nil {
		t.Fatalf("another citizen after an erasure: %v, %v", ok, err)
	}
}

func keyIDOf(t *testing.T, sw *sealedWorld, m bus.Message) string {
	ids, err := sw.plan.KeyIDs(m.Value[schemas.HeaderSize:])
	if err != nil || len(ids) != 1 {
		t.Fatalf("key ids %v %v", ids, err)
	}
	return stdhex(ids[0][:])
}

// Envelopes moved to another record, or sealed under another citizen's
// key, are refused with a counted reason and never served.
func TestMovedEnvelopesAreRefused(t *testing.T) {
	ctx := context.Background()
	sw := newSealedWorld(t, kek.NewFiles(t.TempDir()))
	ms := sw.publish(t, [][]byte{sw.household(t, "s1", "r1", 1), sw.household(t, "s2", "r2", 2)}, []string{"s1", "s2"}, []string{"r1", "r2"})
	keys, _, _ := sw.sealing.Keys(ctx, []string{"s1", "s2"})
	// s3's record (meta s3/r3) whose fields s1's key sealed for s1/r1,
	// and s2's next record whose fields are bound to another record id.
	_, s3Msgs, _ := sw.sealing.Keys(ctx, []string{"s3"})
	sw.write(t, s3Msgs)
	movedBody, _ := sw.plan.Seal(nil, sw.household(t, "s3", "r3", 3)[schemas.HeaderSize:], keys["s1"], "s1", "r1", rand.Reader)
	swapped, _ := sw.plan.Seal(nil, sw.household(t, "s2", "r2b", 4)[schemas.HeaderSize:], keys["s2"], "s2", "r2", rand.Reader)
	// And s4's record cut short: signed, but its sealed fields do not
	// walk.
	s4Keys, s4Msgs, _ := sw.sealing.Keys(ctx, []string{"s4"})
	sw.write(t, s4Msgs)
	cut, _ := sw.plan.Seal(nil, sw.household(t, "s4", "r4", 5)[schemas.HeaderSize:], s4Keys["s4"], "s4", "r4", rand.Reader)
	cut = cut[:len(cut)-7]
	sealedID := sw.sub.Sealed[sw.sub.Latest().Version].ID
	forged := sw.sign(t, [][]byte{append(schemas.AppendHeader(nil, sealedID), movedBody...), append(schemas.AppendHeader(nil, sealedID), swapped...),
		append(schemas.AppendHeader(nil, sealedID), cut...)}, []string{"s3", "s2", "s4"})
	sw.ingest(t, ms[:1])
	sw.ingest(t, forged)
	for _, s := range []string{"s3", "s2", "s4"} {
		if _, ok, err := sw.ix.Lookup(ctx, "tax", s); ok || err != nil {
			t.Fatalf("%s: a moved envelope served (%v, %v)", s, ok, err)
		}
	}
	if n := testutil.ToFloat64(sw.ix.Rejected("tax", "forged-envelope")); n != 3 {
		t.Fatalf("%v forged envelopes counted, want 3", n)
	}
}

// The key service out of reach: the view answers an error the gateway
// turns into 503, and serves nothing, in clear or in part.
func TestKeyServiceDownServesNothing(t *testing.T) {
	ctx := context.Background()
	down := &switchKEK{KEK: kek.NewFiles(t.TempDir())}
	sw := newSealedWorld(t, down)
	// The gateway's KEK is down when it first needs the epoch key.
	ms := sw.publish(t, [][]byte{sw.household(t, "s1", "r1", 1)}, []string{"s1"}, []string{"r1"})
	sw.ingest(t, ms)
	down.down = true
	if r, ok, err := sw.ix.Lookup(ctx, "tax", "s1"); ok || !errors.Is(err, kek.ErrUnavailable) || r.Value != nil {
		t.Fatalf("KEK down: %v %v %v, want an error wrapping kek.ErrUnavailable", r.Value, ok, err)
	}
}

// follow has l follow its key topic until the test ends, once it has read
// it to its end.
func follow(t testing.TB, l *datakeys.Ledger, c *bus.Client) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Follow(ctx, c) }()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(30 * time.Second); !l.Ready(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("an empty key topic was not read to its end")
		}
	}
}

func stdhex(b []byte) string { return hex.EncodeToString(b) }

func firstKey(t *testing.T, sw *sealedWorld, m bus.Message) fieldcrypt.KeyID {
	ids, err := sw.plan.KeyIDs(m.Value[schemas.HeaderSize:])
	if err != nil || len(ids) == 0 {
		t.Fatal(ids, err)
	}
	return ids[0]
}

func waitFor(t *testing.T, cond func() bool) {
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
	}
}

type switchKEK struct {
	kek.KEK
	down bool
}

func (s *switchKEK) Unwrap(ctx context.Context, d, w string, aad []byte) ([]byte, error) {
	if s.down {
		return nil, kek.ErrUnavailable
	}
	return s.KEK.Unwrap(ctx, d, w, aad)
}

func mustDomain(name string) *domain.Domain {
	d, _ := domains.ByName(name)
	return d
}
