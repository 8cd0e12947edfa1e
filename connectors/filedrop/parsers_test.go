package filedrop_test

import (
	"errors"
	"testing"

	"github.com/passerelle-bus/passerelle/connectors"
	"github.com/passerelle-bus/passerelle/connectors/filedrop"
)

var layout = filedrop.CSV{Comma: ';', Key: "id", Columns: []string{"id", "name"}}

func TestCSV(t *testing.T) {
	rows, err := layout.Parse("f", []byte("id;name\n1;Ana\n2;\"Bé;rénice\"\n3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Key != "1" || rows[1].Data.(connectors.Fields)["name"] != "Bé;rénice" {
		t.Fatalf("rows: %+v", rows)
	}
	var d *connectors.Defect
	if !errors.As(rows[2].Err, &d) || d.Code != connectors.DefectRow {
		t.Fatalf("short line: %v", rows[2].Err)
	}
	if rows[0].Version == rows[1].Version {
		t.Fatal("versions of different rows collide")
	}
	if _, err := layout.Parse("f", []byte("name;id\n1;Ana\n")); err == nil {
		t.Fatal("a file with another layout was accepted")
	}
}

func TestJSONLines(t *testing.T) {
	rows, _ := filedrop.JSONLines{Key: "event_id", Version: "version"}.Parse("f", []byte(`{"event_id":"E1","version":2}`+"\n\n{oops\n"))
	if len(rows) != 2 || rows[0].Key != "E1" || rows[0].Version != "2" || rows[1].Err == nil {
		t.Fatalf("rows: %+v", rows)
	}
}

// Parsers never panic, and a row either parses or carries a defect.
func FuzzCSV(f *testing.F) {
	f.Add([]byte("id;name\n1;Ana\n"))
	f.Add([]byte("id;name\n\"1;\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := layout.Parse("f", b)
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Err == nil && r.Data == nil {
				t.Fatal("a row with neither data nor defect")
			}
		}
	})
}

func FuzzJSONLines(f *testing.F) {
	f.Add([]byte(`{"event_id":"E1","version":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		filedrop.JSONLines{Key: "event_id", Version: "version"}.Parse("f", b)
	})
}
