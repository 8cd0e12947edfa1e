package audit_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/passerelle-bus/passerelle/internal/audit"
)

func keys(t *testing.T, name string) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	return s, v
}

func events(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, `{"id":"e%d","decision":"allow"}`, i)
	}
	return out
}

// checkpoints of the log after 3, 10 and 17 events.
func checkpoints(t *testing.T, evs [][]byte, s note.Signer) [][]byte {
	var tr audit.Tree
	var out [][]byte
	for i, e := range evs {
		tr.Append(e)
		if n := int64(i + 1); n == 3 || n == 10 || n == 17 {
			root, _ := tr.Root(n)
			cp, err := audit.Checkpoint{Origin: "passerelle.test/audit", Size: n, Root: root}.Sign(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, cp)
		}
	}
	return out
}

func TestVerifyFindsTheFirstDisagreement(t *testing.T) {
	s, v := keys(t, "passerelle.test/audit")
	_, other := keys(t, "passerelle.test/audit")
	evs := events(20)
	cps := checkpoints(t, evs, s)
	if n, err := audit.Verify(evs, cps, v); err != nil || n != 20 {
		t.Fatalf("honest log: %d, %v", n, err)
	}
	forged := append(append(append([][]byte{}, evs[:5]...), []byte(`{"id":"forged"}`)), evs[5:]...)
	dropped := append(append([][]byte{}, evs[:12]...), evs[13:]...)
	altered := append([][]byte{}, evs...)
	altered[1] = []byte(`{"id":"e1","decision":"deny"}`)
	for _, tc := range []struct {
		name   string
		evs    [][]byte
		v      note.Verifier
		cp     int
		reason string
	}{
		{"event inserted after 5", forged, v, 1, "root differs"},
		{"event 12 dropped", dropped, v, 2, "root differs"},
		{"event 1 altered", altered, v, 0, "root differs"},
		{"log cut short", evs[:15], v, 2, "events were dropped"},
		{"checkpoint signed by another key", evs, other, 0, "invalid audit checkpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := audit.Verify(tc.evs, cps, tc.v)
			var m *audit.Mismatch
			if !errors.As(err, &m) || m.Checkpoint != tc.cp || !errors.Is(err, audit.ErrMismatch) {
				t.Fatalf("got %v, want checkpoint %d", err, tc.cp)
			}
			if !strings.Contains(m.Reason, tc.reason) {
				t.Fatalf("reason %q, want %q", m.Reason, tc.reason)
			}
		})
	}
}

func TestProofs(t *testing.T) {
	var tr audit.Tree
	evs := events(33)
	for _, e := range evs {
		tr.Append(e)
	}
	root, _ := tr.Root(33)
	for i := range int64(33) {
		p, err := tr.Inclusion(i, 33)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckRecord(p, 33, root, i, tlog.RecordHash(evs[i])); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	old, _ := tr.Root(10)
	p, err := tr.Consistency(10, 33)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(p, 33, root, 10, old); err != nil {
		t.Fatalf("consistency 10 → 33: %v", err)
	}
}

func BenchmarkVerify(b *testing.B) {
	evs := events(100_000)
	b.ResetTimer()
	for b.Loop() {
		var tr audit.Tree
		for _, e := range evs {
			tr.Append(e)
		}
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
