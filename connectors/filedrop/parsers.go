package filedrop

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/passerelle-bus/passerelle/connectors"
)

// contentVersion versions a row by its content: a row dropped again
// unchanged is the same record, a corrected one a new version.
func contentVersion(raw []byte) string {
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:8])
}

// CSV parses delimited files with a declared layout: the header must list
// exactly Columns, so a file from a changed export is refused whole rather
// than mapped wrongly.
type CSV struct {
	Columns []string
	Comma   rune
	Key     string // the column identifying a row
}

// Parse implements Parser.
func (c CSV) Parse(_ string, content []byte) ([]connectors.Row, error) {
	lines := bytes.Split(bytes.TrimRight(content, "\r\n"), []byte("\n"))
	if len(lines) == 0 || len(lines[0]) == 0 {
		return nil, fmt.Errorf("empty file")
	}
	header, err := c.record(lines[0])
	if err != nil || !slices.Equal(header, c.Columns) {
		return nil, fmt.Errorf("header %q, want %q", string(lines[0]), strings.Join(c.Columns, string(c.Comma)))
	}
	rows := make([]connectors.Row, 0, len(lines)-1)
	for i, line := range lines[1:] {
		line = bytes.TrimRight(line, "\r")
		row := connectors.Row{Raw: line, Version: contentVersion(line), Key: fmt.Sprintf("line %d", i+2)}
		rec, err := c.record(line)
		switch {
		case err != nil:
			row.Err = connectors.Defectf(connectors.DefectRow, "", "line %d: %v", i+2, err)
		case len(rec) != len(c.Columns):
			row.Err = connectors.Defectf(connectors.DefectRow, "", "line %d: %d fields, want %d", i+2, len(rec), len(c.Columns))
		default:
			f := make(connectors.Fields, len(rec))
			for j, v := range rec {
				f[c.Columns[j]] = v
			}
			row.Data = f
			if k := f[c.Key]; k != "" {
				row.Key = k
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func (c CSV) record(line []byte) ([]string, error) {
	r := csv.NewReader(bytes.NewReader(line))
	r.Comma = c.Comma
	r.FieldsPerRecord = -1
	return r.Read()
}

// JSONLines parses one JSON object per line; Key and Version name the
// fields identifying a row and its version (Version may be empty: the
// content versions the row then).
type JSONLines struct {
	Key, Version string
}

// Parse implements Parser.
func (j JSONLines) Parse(_ string, content []byte) ([]connectors.Row, error) {
	var rows []connectors.Row
	for i, line := range bytes.Split(content, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		row := connectors.Row{Raw: line, Data: json.RawMessage(line), Key: fmt.Sprintf("line %d", i+1), Version: contentVersion(line)}
		var head map[string]json.RawMessage
		if err := json.Unmarshal(line, &head); err != nil {
			row.Err = connectors.Defectf(connectors.DefectRow, "", "line %d: %v", i+1, err)
		} else {
			if k := unquote(head[j.Key]); k != "" {
				row.Key = k
			}
			if j.Version != "" {
				row.Version = unquote(head[j.Version])
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// unquote returns a JSON string's value, or a number's text.
func unquote(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}
