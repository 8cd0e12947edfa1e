package view

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// An entry survives its encoding whatever the lengths of its parts, and
// every truncation of an encoding is refused as corrupt, never read as
// another entry.
func TestEntryEncoding(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 300} {
		e := Entry{Head: Head{Partition: 7, Offset: 1 << 40, EventTime: 1_767_000_000_123, RecordID: strings.Repeat("r", n%40), Deleted: n%2 == 1},
			KeyID: strings.Repeat("k", n), Value: []byte(strings.Repeat("v", n))}
		b := encodeEntry(e)
		got, err := decodeEntry(b, true)
		if err != nil || got.Head != e.Head || got.KeyID != e.KeyID || string(got.Value) != string(e.Value) {
			t.Fatalf("length %d: %+v %v", n, got, err)
		}
		if head, err := decodeEntry(b, false); err != nil || head.Value != nil || head.Head != e.Head {
			t.Fatalf("length %d, head only: %+v %v", n, head, err)
		}
		for cut := range len(b) {
			if _, err := decodeEntry(b[:cut], true); err == nil {
				t.Fatalf("length %d: %d of %d bytes decoded", n, cut, len(b))
			}
		}
	}
}

// A disk index of another format is emptied when opened, and rebuilt from
// the log; one of this format keeps what it holds.
func TestDiskIndexOfAnotherFormatIsEmptied(t *testing.T) {
	path := filepath.Join(t.TempDir(), "view.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		b, _ := tx.CreateBucket([]byte("tax"))
		return b.Put([]byte("subject"), []byte("an entry of the first format"))
	})
	db.Close()
	d, err := OpenDisk(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := d.Get("tax", "subject"); ok || err != nil {
		t.Fatalf("an entry of the older format is still read: %v %v", ok, err)
	}
	e := Entry{Head: Head{Partition: 1, Offset: 2, EventTime: 3, RecordID: "r"}, KeyID: "k", Value: []byte("v")}
	if err := d.Put("tax", "subject", e); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if d, err = OpenDisk(path); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got, ok, err := d.Get("tax", "subject"); !ok || err != nil || got.Head != e.Head {
		t.Fatalf("reopened: %+v %v %v", got, ok, err)
	}
	if h, ok, err := d.Head("tax", "subject"); !ok || err != nil || h != e.Head {
		t.Fatalf("head: %+v %v %v", h, ok, err)
	}
}

// The order of a subject's records: event time first, record id between
// records of the same millisecond.
func TestHeadOrder(t *testing.T) {
	for _, tc := range []struct {
		a, b Head
		want int
	}{
		{Head{EventTime: 1, RecordID: "b"}, Head{EventTime: 2, RecordID: "a"}, -1},
		{Head{EventTime: 2, RecordID: "a"}, Head{EventTime: 1, RecordID: "b"}, 1},
		{Head{EventTime: 1, RecordID: "a"}, Head{EventTime: 1, RecordID: "b"}, -1},
		{Head{EventTime: 1, RecordID: "a", Offset: 9}, Head{EventTime: 1, RecordID: "a", Offset: 1}, 0},
	} {
		if got := tc.a.Order(tc.b); got != tc.want {
			t.Errorf("%+v vs %+v: %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// A file another process holds is refused within seconds, saying so, not
// waited on forever.
func TestDiskHeldElsewhereIsSaid(t *testing.T) {
	if os.Getenv("PASSERELLE_HOLD_INDEX") != "" {
		d, err := OpenDisk(os.Getenv("PASSERELLE_HOLD_INDEX"))
		if err != nil {
			os.Exit(3)
		}
		defer d.Close()
		os.Stdout.WriteString("held\n")
		time.Sleep(time.Minute)
		return
	}
	path := filepath.Join(t.TempDir(), "view.db")
	child := exec.Command(os.Args[0], "-test.run=^TestDiskHeldElsewhereIsSaid$")
	child.Env = append(os.Environ(), "PASSERELLE_HOLD_INDEX="+path)
	out, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	buf := make([]byte, 5)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "held\n" {
		t.Fatalf("the holder did not start: %q %v", buf, err)
	}
	_, err := OpenDisk(path)
	if err == nil || !strings.Contains(err.Error(), "held by another process") {
		t.Fatalf("got %v, want it said that another process holds the file", err)
	}
}
