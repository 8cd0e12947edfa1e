package audit_test

import (
	"crypto/rand"
	"errors"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/passerelle-bus/passerelle/internal/audit"
	"github.com/passerelle-bus/passerelle/internal/trust/trusttest"
)

// Whatever someone writes on the audit topic, the trail either takes it
// or answers with a Finding; it never panics, and never lets an unsigned
// record become a leaf.
func FuzzTrailAdd(f *testing.F) {
	f.Add([]byte("e1"), []byte(`{"id":"e1","writer":"w","seq":0,"kind":"view","decision":"allow"}`), []byte(`{"root_sig":"x","index":0,"size":1,"path":[]}`))
	f.Add([]byte(audit.CheckpointKey), []byte("t\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— gw AAAA\n"), []byte(nil))
	f.Add([]byte("x"), []byte(`{"id":"x","writer":"w","seq":-1}`), []byte(nil))
	f.Add([]byte("x"), []byte(`{"id":"x","writer":"w","seq":1e30,"released":[1,{}],"time":"yesterday"}`), []byte("{}"))
	world := trusttest.New(f, members)
	store := world.Store(f)
	f.Fuzz(func(t *testing.T, key, value, batch []byte) {
		tr := audit.NewTrail(store, audit.TrailOptions{Topic: "t", KeepEvents: true})
		err := tr.Add(audit.Record{Key: key, Value: value, Batch: batch})
		if err == nil && string(key) != audit.CheckpointKey {
			t.Fatalf("an event without a gateway's signature became a leaf: %q", value)
		}
		var finding *audit.Finding
		if err != nil && !errors.As(err, &finding) {
			t.Fatalf("not a finding: %v", err)
		}
		if tr.Size() != 0 {
			t.Fatalf("a refused record is a leaf")
		}
	})
}

// A checkpoint that does not parse, or is signed by no known key, is
// refused with ErrCheckpoint; one that opens says what its text says.
func FuzzOpenCheckpoint(f *testing.F) {
	skey, vkey, _ := note.GenerateKey(rand.Reader, "gw")
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	known := note.VerifierList(v)
	for _, text := range []string{"t\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "t\n-1\nAA==\n", "t\n01\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next\n", "\n\n\n"} {
		signed, _ := note.Sign(&note.Note{Text: text}, s)
		f.Add(signed)
	}
	f.Fuzz(func(t *testing.T, signed []byte) {
		c, err := audit.OpenCheckpoint(signed, known)
		if err != nil {
			if !errors.Is(err, audit.ErrCheckpoint) {
				t.Fatalf("%v does not wrap ErrCheckpoint", err)
			}
			return
		}
		if c.Size < 0 {
			t.Fatalf("negative size %d", c.Size)
		}
		again, err := c.Sign(s)
		if err != nil {
			t.Fatal(err)
		}
		if c2, err := audit.OpenCheckpoint(again, known); err != nil || c2 != c {
			t.Fatalf("re-signed checkpoint %+v opens as %+v, %v", c, c2, err)
		}
	})
}
