package connect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/connectors"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/link"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/internal/trust"
	"github.com/passerelle-bus/passerelle/internal/view"
	"github.com/passerelle-bus/passerelle/schemas"
)

// records is what a consumer of the bus saw of one member's publications.
type records struct {
	byID     map[string][]byte // record_id → value
	verified int
	dead     map[string]string // dead letter source key → code
}

func header(m bus.Message, k string) []byte {
	for _, h := range m.Headers {
		if h.Key == k {
			return h.Value
		}
	}
	return nil
}

// consume reads a domain's topic and dead letters and keeps what member
// published there, verifying every record against the registry.
func consume(t *testing.T, client *bus.Client, keys seal.Keys, codec *schemas.Codec, domain, member string) records {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	v := seal.NewVerifier(keys)
	out := records{byID: map[string][]byte{}, dead: map[string]string{}}
	var mu sync.Mutex
	d, _ := domains.ByName(domain)
	err := client.Replay(ctx, d.Topic(), bus.ReplayOptions{}, func(m bus.Message) error {
		_, meta, err := view.Decode(codec, domain, m.Value)
		if err != nil {
			return fmt.Errorf("%s@%d: %w", m.Topic, m.Offset, err)
		}
		if meta.Source != member {
			return nil
		}
		if _, err := v.Verify(seal.Record{Domain: domain, Key: m.Key, Value: m.Value, Sig: header(m, seal.HeaderSig),
			Batch: header(m, seal.HeaderBatch), Source: meta.Source, Subject: meta.Subject}); err != nil {
			return fmt.Errorf("record %s does not verify: %w", meta.RecordID, err)
		}
		mu.Lock()
		defer mu.Unlock()
		out.verified++
		if prev, ok := out.byID[meta.RecordID]; ok && string(prev) != string(m.Value) {
			return fmt.Errorf("record %s published with two different contents", meta.RecordID)
		}
		out.byID[meta.RecordID] = m.Value
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = client.Replay(ctx, bus.DLQTopic(domain), bus.ReplayOptions{}, func(m bus.Message) error {
		var dl connectors.DeadLetter
		if err := json.Unmarshal(m.Value, &dl); err != nil {
			return err
		}
		if dl.Source == member {
			mu.Lock()
			out.dead[dl.Key] = dl.Code
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkLinks opens the link header of every record member published in
// each domain and checks it holds the link id of the citizen whose domain
// pseudonym is the record's key: one id per citizen across domains.
func checkLinks(t *testing.T, client *bus.Client, kr pseudo.Keyring, codec *schemas.Codec, p *synth.Population, members map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	nirs := make([]string, len(p.Citizens))
	for i, c := range p.Citizens {
		nirs[i] = c.NIR
	}
	ids, err := link.IDs(ctx, kr, nirs)
	if err != nil {
		t.Fatal(err)
	}
	opener, err := link.NewOpener(ctx, kr, domains.Names())
	if err != nil {
		t.Fatal(err)
	}
	linked := map[link.ID]map[string]bool{}
	var mu sync.Mutex
	for _, d := range domains.All() {
		subjects, err := pseudo.New(kr).Domain(ctx, d.Name, nirs)
		if err != nil {
			t.Fatal(err)
		}
		want := make(map[string]link.ID, len(subjects))
		for i, s := range subjects {
			want[s] = ids[i]
		}
		err = client.Replay(ctx, d.Topic(), bus.ReplayOptions{}, func(m bus.Message) error {
			_, meta, err := d.Decode(codec, m.Value)
			if err != nil || meta.Source != members[d.Name] {
				return err
			}
			id, err := opener.Open(d.Name, meta.Subject, meta.RecordID, header(m, link.Header))
			if err != nil {
				return fmt.Errorf("%s record %s: %w", d.Name, meta.RecordID, err)
			}
			if w, ok := want[meta.Subject]; !ok || id != w {
				return fmt.Errorf("%s record %s: link id is not its citizen's", d.Name, meta.RecordID)
			}
			mu.Lock()
			defer mu.Unlock()
			if linked[id] == nil {
				linked[id] = map[string]bool{}
			}
			linked[id][d.Name] = true
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	across := 0
	for _, ds := range linked {
		if len(ds) > 1 {
			across++
		}
	}
	if across == 0 {
		t.Error("no citizen's records link across two domains")
	}
	t.Logf("link headers open: %d citizens, %d of them in two domains or more", len(linked), across)
}

// checkDomain compares what the bus holds with what the source held.
func checkDomain(t *testing.T, got records, m synth.Manifest, domain string) {
	t.Helper()
	if len(got.byID) != len(m.Valid) {
		t.Errorf("%s: %d distinct verified records (%d deliveries), want the %d valid rows exactly once",
			domain, len(got.byID), got.verified, len(m.Valid))
	}
	missing := 0
	for _, d := range m.Defective {
		if _, ok := got.dead[d.Key]; !ok {
			if missing++; missing <= 3 {
				t.Errorf("%s: defective row %s (%s) is not in the dead-letter topic", domain, d.Key, d.Defect.Kind)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%s: %d of %d defective rows missing from the dead letters", domain, missing, len(m.Defective))
	}
	t.Logf("%s: %d records verified (%d distinct), %d dead letters for %d defective rows",
		domain, got.verified, len(got.byID), len(got.dead), len(m.Defective))
}

func normalise(s string) string {
	return strings.NewReplacer(" ", "", ".", "", "-", "").Replace(s)
}

// nirScanner returns a function that reports whether b holds one of the
// population's NIRs, valid or malformed, however spaced.
func nirScanner(p *synth.Population) func(b []byte) bool {
	nirs := map[string]bool{}
	lengths := map[int]bool{}
	add := func(n string) {
		n = normalise(n)
		nirs[n], lengths[len(n)] = true, true
	}
	for _, c := range p.Citizens {
		add(c.NIR)
	}
	for _, m := range p.Manifest {
		for _, d := range m.Defective {
			add(d.NIR)
		}
	}
	// found walks b once, collecting runs of digits (letters and up to three
	// separators allowed inside, as in idToken) and checks the runs with
	// enough digits: a regexp over a million records takes a minute.
	found := func(b []byte) bool {
		var run []byte
		seps, letters, digits := 0, 0, 0
		check := func() bool {
			defer func() { run, seps, letters, digits = run[:0], 0, 0, 0 }()
			if digits < 11 { // no NIR, even malformed, has fewer
				return false
			}
			s := string(run)
			for l := range lengths {
				for i := 0; i+l <= len(s); i++ {
					if nirs[s[i:i+l]] {
						return true
					}
				}
			}
			return false
		}
		for _, c := range b {
			letter := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
			switch {
			case c >= '0' && c <= '9':
				run, seps, letters = append(run, c), 0, 0
				digits++
			// A NIR holds at most a letter at a time (2A, 2B, a typo):
			// two in a row end the run, which keeps base64 out.
			case letter && len(run) > 0 && letters == 0:
				run, seps, letters = append(run, c), 0, 1
			case len(run) > 0 && (c == ' ' || c == '.' || c == '-') && seps < 3:
				seps++
			default:
				if check() {
					return true
				}
			}
		}
		return check()
	}
	return found
}

// noNIR scans every record of every contract topic for the population's
// NIRs.
func noNIR(t *testing.T, client *bus.Client, p *synth.Population) {
	t.Helper()
	found := nirScanner(p)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var mu sync.Mutex
	scanned := 0
	for _, spec := range domains.Topics(1) {
		err := client.Replay(ctx, spec.Name, bus.ReplayOptions{}, func(m bus.Message) error {
			mu.Lock()
			scanned++
			mu.Unlock()
			parts := [][]byte{m.Key, m.Value}
			for _, h := range m.Headers {
				parts = append(parts, h.Value)
			}
			for _, b := range parts {
				if found(b) {
					return fmt.Errorf("a NIR is on %s at offset %d", spec.Name, m.Offset)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("no NIR in %d records across %d topics", scanned, len(domains.Topics(1)))
}

// specsFor returns one publisher member per domain, named uniquely so that
// runs sharing a broker do not see each other's records.
func specsFor(run string) (map[string]string, []trust.MemberSpec) {
	members := map[string]string{}
	var specs []trust.MemberSpec
	for _, d := range domains.Names() {
		id := fmt.Sprintf("%s-%s", run, d)
		members[d] = id
		specs = append(specs, trust.MemberSpec{ID: id, Name: "publisher of " + d, Roles: []string{trust.PublisherRole(d)}})
	}
	return members, specs
}

// The scanner must find what it looks for, or a clean scan proves nothing.
func TestNIRScannerFindsNIRs(t *testing.T) {
	p := synth.Generate(50, 7, synth.Options{DefectRate: 0.2})
	found := nirScanner(p)
	nir := p.Citizens[3].NIR
	spaced := nir[:1] + " " + nir[1:3] + " " + nir[3:5] + " " + nir[5:7] + " " + nir[7:10] + " " + nir[10:13] + " " + nir[13:]
	for _, b := range []string{nir, "x" + nir + "y", `{"nir":"` + nir + `"}`, spaced, "P1;" + nir + "9;x"} {
		if !found([]byte(b)) {
			t.Errorf("scanner misses %q", b)
		}
	}
	for _, b := range []string{"2026-03-05", "eyJhbGciOiJFZERTQSIsImtpZCI6IjR4ZXlz", p.Citizens[3].FamilyName} {
		if found([]byte(b)) {
			t.Errorf("scanner sees a NIR in %q", b)
		}
	}
}
