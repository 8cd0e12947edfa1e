package connectors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Checkpoint keeps a connector's source position in a file beside it. A
// save is atomic and durable (write, fsync, rename, fsync the directory):
// after a SIGKILL the file holds either the old position or the new one.
type Checkpoint struct {
	path string
}

// NewCheckpoint uses the file at path.
func NewCheckpoint(path string) *Checkpoint { return &Checkpoint{path: path} }

type checkpointFile struct {
	Position Position  `json:"position"`
	Saved    time.Time `json:"saved"`
}

// Load returns the saved position, or the beginning if none was saved.
func (c *Checkpoint) Load() (Position, error) {
	b, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read checkpoint: %w", err)
	}
	var f checkpointFile
	if err := json.Unmarshal(b, &f); err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", c.path, err)
	}
	return f.Position, nil
}

// Save records pos durably.
func (c *Checkpoint) Save(pos Position) error {
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("checkpoint directory: %w", err)
	}
	b, _ := json.Marshal(checkpointFile{Position: pos, Saved: time.Now().UTC()})
	tmp, err := os.CreateTemp(dir, ".checkpoint-*")
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
