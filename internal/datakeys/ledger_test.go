package datakeys_test

import (
	"bytes"
	"context"
	stdhex "encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/datakeys"
	"github.com/passerelle-bus/passerelle/internal/fieldcrypt"
	"github.com/passerelle-bus/passerelle/internal/kek"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
)

type world struct {
	store             *trust.Store
	kek               kek.KEK
	connector, gw, in *seal.Sealer // the tax publisher, a gateway, an intruder
}

func newWorld(t *testing.T) *world {
	w := trusttest.New(t, []trust.MemberSpec{
		{ID: "dgfip", Name: "tax", Roles: []string{trust.PublisherRole("tax")}},
		{ID: "gw", Name: "gateway", Roles: []string{trust.RoleGateway}},
		{ID: "cnaf", Name: "benefits", Roles: []string{trust.PublisherRole("finance")}},
	})
	return &world{store: w.Store(t), kek: kek.NewFiles(t.TempDir()),
		connector: seal.NewSealer(w.Signer(t, "dgfip")), gw: seal.NewSealer(w.Signer(t, "gw")), in: seal.NewSealer(w.Signer(t, "cnaf"))}
}

func (w *world) ledger(t *testing.T, onErase func(string)) *datakeys.Ledger {
	l := datakeys.New("tax", w.kek, w.store, datakeys.Options{OnErase: onErase, IsGateway: func(m string) bool {
		mem, err := w.store.Current().Member(m)
		return err == nil && mem.Has(trust.RoleGateway)
	}})
	datakeys.SetReady(l) // an empty topic read to its end, which Follow says with a broker
	return l
}

func hex(id fieldcrypt.KeyID) string { return stdhex.EncodeToString(id[:]) }

func (w *world) publish(t *testing.T, by *seal.Sealer, l *datakeys.Ledger, rs []*datakeys.Record) []bus.Message {
	t.Helper()
	ms, err := datakeys.Messages(context.Background(), by, rs)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func apply(t *testing.T, l *datakeys.Ledger, ms []bus.Message, want string) {
	t.Helper()
	for _, m := range ms {
		if why, err := l.Apply(m); why != want {
			t.Fatalf("%s: applied with %q (%v), want %q", m.Key, why, err, want)
		}
	}
}

func TestConnectorKeysReachTheGateway(t *testing.T) {
	ctx, now := context.Background(), time.Now()
	w := newWorld(t)
	conn := w.ledger(t, nil)
	keys, fresh, err := conn.Ensure(ctx, []string{"s1", "s2", "s1", "s3"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 || len(fresh) != 4 || fresh[0].Kind != datakeys.KindEpoch {
		t.Fatalf("%d keys, %d records; want 3 keys and an epoch with 3 key records", len(keys), len(fresh))
	}
	ms := w.publish(t, w.connector, conn, fresh)
	gw := w.ledger(t, nil)
	apply(t, gw, ms, "")
	apply(t, conn, ms, "") // read back by the connector: nothing changes
	for s, dk := range keys {
		got, err := gw.Key(ctx, s, dk.ID)
		if err != nil || got != dk.Key {
			t.Fatalf("%s: %v", s, err)
		}
	}
	again, fresh, err := conn.Ensure(ctx, []string{"s2"}, now)
	if err != nil || len(fresh) != 0 || again["s2"] != keys["s2"] {
		t.Fatalf("a second Ensure made %d records, %v", len(fresh), err)
	}
}

func TestWhoMayWriteWhat(t *testing.T) {
	ctx, now := context.Background(), time.Now()
	w := newWorld(t)
	conn := w.ledger(t, nil)
	_, fresh, err := conn.Ensure(ctx, []string{"s1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	gw := w.ledger(t, nil)
	apply(t, gw, w.publish(t, w.in, conn, fresh[:1]), "forged") // an epoch by another domain's publisher
	apply(t, gw, w.publish(t, w.connector, conn, fresh[:1]), "")
	apply(t, gw, w.publish(t, w.in, conn, fresh[1:]), "forged") // another domain's publisher
	apply(t, gw, w.publish(t, w.connector, conn, fresh[1:]), "")
	erase := &datakeys.Record{Kind: datakeys.KindErased, Domain: "tax", Subject: "s1", Time: now,
		Erasure: &datakeys.Erasure{ID: "e1", Reason: "art. 17", LegalBasis: "GDPR 17(1)(a)", KeyIDs: []string{fresh[1].KeyID}}}
	apply(t, gw, w.publish(t, w.connector, conn, []*datakeys.Record{erase}), "forged")
	// Unsigned, or signed by another key than the header says.
	m := w.publish(t, w.connector, conn, fresh[1:])[0]
	m.Headers = nil
	apply(t, gw, []bus.Message{m}, "forged")
	// A record that says another domain.
	other := *fresh[1]
	other.Domain = "finance"
	apply(t, gw, w.publish(t, w.connector, conn, []*datakeys.Record{&other}), "malformed")
}

func TestErasure(t *testing.T) {
	ctx, now := context.Background(), time.Now()
	w := newWorld(t)
	conn := w.ledger(t, nil)
	keys, fresh, _ := conn.Ensure(ctx, []string{"s1", "s2"}, now)
	var forgot []string
	gw := w.ledger(t, func(s string) { forgot = append(forgot, s) })
	apply(t, gw, w.publish(t, w.gw, conn, fresh[:1]), "")
	keyRecords := w.publish(t, w.connector, conn, fresh[1:])
	apply(t, gw, keyRecords, "")
	erase := &datakeys.Record{Kind: datakeys.KindErased, Domain: "tax", Subject: "s1", Time: now,
		Erasure: &datakeys.Erasure{ID: "e1", Reason: "right to erasure", LegalBasis: "GDPR 17(1)(a)", KeyIDs: []string{hex(keys["s1"].ID)}}}
	ms := w.publish(t, w.gw, gw, []*datakeys.Record{erase})
	apply(t, gw, ms, "")
	apply(t, conn, ms, "")
	if len(forgot) != 1 || forgot[0] != "s1" {
		t.Fatalf("told to forget %v", forgot)
	}
	if _, err := gw.Key(ctx, "s1", keys["s1"].ID); !errors.Is(err, fieldcrypt.ErrShredded) {
		t.Fatalf("erased key: %v, want ErrShredded", err)
	}
	if _, err := gw.Key(ctx, "s2", keys["s2"].ID); err != nil {
		t.Fatalf("another citizen's key: %v", err)
	}
	// The erased key's record written again, validly signed, brings
	// nothing back.
	apply(t, gw, keyRecords[:1], "erased")
	if _, err := gw.Key(ctx, "s1", keys["s1"].ID); !errors.Is(err, fieldcrypt.ErrShredded) {
		t.Fatalf("erased key after a replay: %v", err)
	}
	// New records of the citizen get a new key.
	again, fresh, err := conn.Ensure(ctx, []string{"s1"}, now)
	if err != nil || len(fresh) != 1 || again["s1"].ID == keys["s1"].ID {
		t.Fatalf("after erasure: %d records, same key %v, %v", len(fresh), again["s1"].ID == keys["s1"].ID, err)
	}
	// One key per citizen per domain: another key for s2 is refused.
	other := *fresh[0]
	other.Subject = "s2"
	apply(t, gw, w.publish(t, w.connector, conn, []*datakeys.Record{&other}), "conflict")
}

func TestKeysThatDoNotOpen(t *testing.T) {
	ctx, now := context.Background(), time.Now()
	w := newWorld(t)
	conn := w.ledger(t, nil)
	keys, fresh, _ := conn.Ensure(ctx, []string{"s1"}, now)
	gw := w.ledger(t, nil)
	apply(t, gw, w.publish(t, w.gw, conn, fresh[:1]), "")
	tampered := *fresh[1]
	tampered.Wrapped = bytes.Clone(tampered.Wrapped)
	tampered.Wrapped[20] ^= 1
	apply(t, gw, w.publish(t, w.connector, conn, []*datakeys.Record{&tampered}), "")
	if _, err := gw.Key(ctx, "s1", keys["s1"].ID); !errors.Is(err, datakeys.ErrForged) {
		t.Fatalf("tampered wrapped key: %v, want ErrForged", err)
	}
	var other fieldcrypt.KeyID
	if _, err := gw.Key(ctx, "s1", other); !errors.Is(err, datakeys.ErrForged) {
		t.Fatalf("a key id the subject never had: %v, want ErrForged", err)
	}
	// The KEK version that wraps the epoch retired: every key of the
	// epoch is shredded.
	v, _ := w.kek.Rotate(ctx, "tax")
	if err := w.kek.Retire(ctx, "tax", v); err != nil {
		t.Fatal(err)
	}
	fresh2 := w.ledger(t, nil)
	apply(t, fresh2, w.publish(t, w.gw, conn, fresh[:1]), "")
	apply(t, fresh2, w.publish(t, w.connector, conn, fresh[1:]), "")
	if _, err := fresh2.Key(ctx, "s1", keys["s1"].ID); !errors.Is(err, fieldcrypt.ErrShredded) {
		t.Fatalf("epoch of a retired KEK version: %v, want ErrShredded", err)
	}
}

// The KEK out of reach is not a shredded key.
func TestKEKUnavailable(t *testing.T) {
	ctx, now := context.Background(), time.Now()
	w := newWorld(t)
	conn := w.ledger(t, nil)
	keys, fresh, _ := conn.Ensure(ctx, []string{"s1"}, now)
	w.kek = downKEK{}
	gw := w.ledger(t, nil)
	apply(t, gw, w.publish(t, w.gw, conn, fresh[:1]), "")
	apply(t, gw, w.publish(t, w.connector, conn, fresh[1:]), "")
	if _, err := gw.Key(ctx, "s1", keys["s1"].ID); !errors.Is(err, kek.ErrUnavailable) || errors.Is(err, fieldcrypt.ErrShredded) {
		t.Fatalf("KEK down: %v, want ErrUnavailable", err)
	}
}

type downKEK struct{}

func (downKEK) Wrap(context.Context, string, []byte, []byte) (string, error) {
	return "", kek.ErrUnavailable
}
func (downKEK) Unwrap(context.Context, string, string, []byte) ([]byte, error) {
	return nil, kek.ErrUnavailable
}
func (downKEK) Rotate(context.Context, string) (int, error) { return 0, kek.ErrUnavailable }
func (downKEK) Retire(context.Context, string, int) error   { return kek.ErrUnavailable }

// Erase names the key the ledger holds, and nothing once it is erased.
func TestEraseNamesTheHeldKey(t *testing.T) {
	ctx, now := context.Background(), time.Now()
	w := newWorld(t)
	conn := w.ledger(t, nil)
	keys, fresh, _ := conn.Ensure(ctx, []string{"s1"}, now)
	gw := w.ledger(t, nil)
	apply(t, gw, w.publish(t, w.connector, conn, fresh), "")
	if r := gw.Erase("nobody", datakeys.Erasure{ID: "e"}, now); r != nil {
		t.Fatalf("an erasure of a subject without a key: %+v", r)
	}
	r := gw.Erase("s1", datakeys.Erasure{ID: "e1", Reason: "art. 17", LegalBasis: "GDPR art. 17(1)(a)"}, now)
	if r == nil || len(r.Erasure.KeyIDs) != 1 || r.Erasure.KeyIDs[0] != hex(keys["s1"].ID) {
		t.Fatalf("erasure %+v", r)
	}
	apply(t, gw, w.publish(t, w.gw, gw, []*datakeys.Record{r}), "")
	if r := gw.Erase("s1", datakeys.Erasure{ID: "e2"}, now); r != nil {
		t.Fatalf("a second erasure: %+v", r)
	}
}

// After compaction the topic holds, per Kafka key, only its latest
// record. An erased key's record written again, validly signed, after the
// erasure, is what compaction keeps under the subject's key; the erasure,
// under a key of its own, is kept too, so a ledger rebuilt from the
// compacted topic still refuses the key.
func TestErasureOutlivesCompaction(t *testing.T) {
	ctx, now := context.Background(), time.Now()
	w := newWorld(t)
	conn := w.ledger(t, nil)
	keys, fresh, _ := conn.Ensure(ctx, []string{"s1"}, now)
	epoch := w.publish(t, w.connector, conn, fresh[:1])
	keyRecord := w.publish(t, w.connector, conn, fresh[1:])
	erase := &datakeys.Record{Kind: datakeys.KindErased, Domain: "tax", Subject: "s1", Time: now,
		Erasure: &datakeys.Erasure{ID: "e1", Reason: "art. 17", LegalBasis: "GDPR art. 17(1)(a)", KeyIDs: []string{hex(keys["s1"].ID)}}}
	erased := w.publish(t, w.gw, conn, []*datakeys.Record{erase})
	if string(erased[0].Key) == string(keyRecord[0].Key) {
		t.Fatal("the erasure shares its Kafka key with the key it erases: compaction would drop it")
	}
	// The log compacted after the replay: epoch, erasure, the replayed key.
	rebuilt := w.ledger(t, nil)
	apply(t, rebuilt, epoch, "")
	apply(t, rebuilt, erased, "")
	apply(t, rebuilt, keyRecord, "erased")
	if _, err := rebuilt.Key(ctx, "s1", keys["s1"].ID); !errors.Is(err, fieldcrypt.ErrShredded) {
		t.Fatalf("a rebuilt ledger opens the erased key: %v", err)
	}
	// An erasure names exactly one key, which its Kafka key carries.
	two := *erase
	two.Erasure = &datakeys.Erasure{ID: "e2", Reason: "r", LegalBasis: "l", KeyIDs: []string{hex(keys["s1"].ID), hex(keys["s1"].ID)}}
	apply(t, rebuilt, w.publish(t, w.gw, conn, []*datakeys.Record{&two}), "malformed")
}
