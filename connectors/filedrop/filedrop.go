// Package filedrop reads files that a member's system drops into a folder:
//
//	<dir>/inbox/     files waiting, taken in name order
//	<dir>/done/      files fully published
//	<dir>/rejected/  files that could not be read at all (also dead-lettered)
//
// Writers must drop files atomically (write elsewhere, then rename into
// inbox/), which is the convention of every file-transfer system. A file is
// read whole, parsed by a Parser, and moved only once every row of it is
// published and checkpointed, so a crash resumes inside the file.
package filedrop

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/passerelle-bus/passerelle/connectors"
)

// Parser turns a file into rows. An error means the file as a whole is
// unreadable (bad header, not JSON); a bad single row is a Row with Err.
type Parser interface {
	Parse(name string, content []byte) ([]connectors.Row, error)
}

// Source is a drop folder.
type Source struct {
	dir     string
	pattern string
	parser  Parser

	cached     string // name of the parsed file below
	cachedRows []connectors.Row
}

// maxDeadFile bounds the copy of an unreadable file put in its dead letter;
// the whole file stays in rejected/.
const maxDeadFile = 64 << 10

// New reads dir's inbox for files matching pattern (e.g. "*.csv").
func New(dir, pattern string, p Parser) (*Source, error) {
	for _, sub := range []string{"inbox", "done", "rejected"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("filedrop: %w", err)
		}
	}
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("filedrop: pattern %q: %w", pattern, err)
	}
	return &Source{dir: dir, pattern: pattern, parser: p}, nil
}

// Positions are "<file>#<rows consumed>", "<file>#end" once every row is
// published, and "<file>#rejected" for an unreadable file.
const (
	markEnd      = "end"
	markRejected = "rejected"
)

func splitPos(pos connectors.Position) (file, mark string) {
	f, m, _ := strings.Cut(string(pos), "#")
	return f, m
}

func (s *Source) inbox() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, "inbox"))
	if err != nil {
		return nil, fmt.Errorf("filedrop: %w", err)
	}
	var names []string
	for _, e := range entries {
		if ok, _ := filepath.Match(s.pattern, e.Name()); ok && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

func (s *Source) rows(name string) ([]connectors.Row, error) {
	if s.cached == name {
		return s.cachedRows, nil
	}
	b, err := os.ReadFile(filepath.Join(s.dir, "inbox", name))
	if err != nil {
		return nil, fmt.Errorf("filedrop: %w", err)
	}
	rows, err := s.parser.Parse(name, b)
	if err != nil {
		raw := b[:min(len(b), maxDeadFile)]
		rows = []connectors.Row{{Key: name, At: name + "#" + markRejected, Raw: raw,
			Err: connectors.Defectf(connectors.DefectFile, "", "%s: %v", name, err)}}
	}
	for i := range rows {
		if rows[i].At == "" {
			rows[i].At = name + "#" + strconv.Itoa(i)
		}
	}
	s.cached, s.cachedRows = name, rows
	return rows, nil
}

// Read implements connectors.Source.
func (s *Source) Read(ctx context.Context, pos connectors.Position, max int) ([]connectors.Row, connectors.Position, error) {
	file, mark := splitPos(pos)
	if file != "" && (mark == markEnd || mark == markRejected) {
		// Checkpointed but not yet moved (a crash in between): move now.
		if err := s.Commit(ctx, pos); err != nil {
			return nil, pos, err
		}
		file = ""
	}
	names, err := s.inbox()
	if err != nil {
		return nil, pos, err
	}
	from := 0
	if file == "" || !slices.Contains(names, file) {
		if len(names) == 0 {
			return nil, pos, nil
		}
		file = names[0]
	} else if from, err = strconv.Atoi(mark); err != nil {
		return nil, pos, fmt.Errorf("filedrop: position %q", pos)
	}
	rows, err := s.rows(file)
	if err != nil {
		return nil, pos, err
	}
	if len(rows) == 1 && rows[0].At == file+"#"+markRejected {
		return rows, connectors.Position(file + "#" + markRejected), nil
	}
	to := min(from+max, len(rows))
	next := file + "#" + strconv.Itoa(to)
	if to == len(rows) {
		next = file + "#" + markEnd
	}
	return rows[from:to], connectors.Position(next), nil
}

// Commit moves a finished file to done/ and an unreadable one to rejected/.
func (s *Source) Commit(_ context.Context, pos connectors.Position) error {
	file, mark := splitPos(pos)
	dest := map[string]string{markEnd: "done", markRejected: "rejected"}[mark]
	if dest == "" {
		return nil
	}
	err := os.Rename(filepath.Join(s.dir, "inbox", file), filepath.Join(s.dir, dest, file))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // moved before a crash
	}
	if err != nil {
		return fmt.Errorf("filedrop: move %s to %s: %w", file, dest, err)
	}
	if s.cached == file {
		s.cached, s.cachedRows = "", nil
	}
	return nil
}

// Reread implements connectors.Source: the file is found in done/, inbox/
// or rejected/.
func (s *Source) Reread(_ context.Context, at string) (connectors.Row, error) {
	file, mark, _ := strings.Cut(at, "#")
	i, err := strconv.Atoi(mark)
	if err != nil || filepath.Base(file) != file {
		return connectors.Row{}, fmt.Errorf("filedrop: cannot reread %q", at)
	}
	for _, sub := range []string{"done", "inbox", "rejected"} {
		b, err := os.ReadFile(filepath.Join(s.dir, sub, file))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return connectors.Row{}, fmt.Errorf("filedrop: %w", err)
		}
		rows, err := s.parser.Parse(file, b)
		if err != nil {
			return connectors.Row{}, fmt.Errorf("filedrop: %s: %w", file, err)
		}
		if i < 0 || i >= len(rows) {
			return connectors.Row{}, fmt.Errorf("filedrop: %s has no row %d", file, i)
		}
		rows[i].At = at
		return rows[i], nil
	}
	return connectors.Row{}, fmt.Errorf("filedrop: %s not found", file)
}

// Close implements connectors.Source.
func (s *Source) Close() error { return nil }

var _ connectors.Source = (*Source)(nil)
