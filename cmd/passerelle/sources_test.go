package main

import (
	"context"
	"database/sql"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/synth"
)

// The demo killed (SIGKILL) while it writes its source systems: the next
// start writes them again, whole, instead of refusing a half-filled
// source ("source already holds data") forever.
func TestSourcesSurviveAKillWhileWriting(t *testing.T) {
	if os.Getenv("PASSERELLE_SOURCES_CHILD") != "" {
		ensureSources(context.Background(), os.Getenv("PASSERELLE_SOURCES_CHILD"), 20_000, 3, io.Discard)
		return
	}
	dir := filepath.Join(t.TempDir(), "sources")
	child := exec.Command(os.Args[0], "-test.run=^TestSourcesSurviveAKillWhileWriting$")
	child.Env = append(os.Environ(), "PASSERELLE_SOURCES_CHILD="+dir)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// Killed once the tax table has rows and before the sources are in place.
	killed := false
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if fi, err := os.Stat(filepath.Join(dir+".writing", "tax.sqlite")); err == nil && fi.Size() > 64<<10 {
			child.Process.Kill()
			killed = true
			break
		}
	}
	child.Wait()
	if !killed {
		t.Fatal("the child never started writing: the test proves nothing")
	}
	if _, err := os.Stat(filepath.Join(dir, ".population.json")); err == nil {
		t.Fatal("the kill landed after the sources were complete: the test proves nothing")
	}

	have, err := ensureSources(context.Background(), dir, 20_000, 3, io.Discard)
	if err != nil {
		t.Fatalf("restart after the kill: %v", err)
	}
	p := synth.Generate(20_000, 3, synth.Options{})
	db, err := sql.Open("sqlite", filepath.Join(dir, "tax.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows int64
	if err := db.QueryRow(`SELECT count(*) FROM household_assessment`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if want := int64(p.Manifest[synth.DomainTax].Total()); rows != want || have.Rows[string(synth.DomainTax)] != want {
		t.Fatalf("%d tax rows (marker says %d), want %d", rows, have.Rows[string(synth.DomainTax)], want)
	}
	if again, err := ensureSources(context.Background(), dir, 20_000, 3, io.Discard); err != nil || again.Example != have.Example {
		t.Fatalf("a second start: %+v %v", again, err)
	}
}
