// Package schemas is the machinery of the Avro schemas on the bus: the
// registry that gives them ids (read-only, Confluent-compatible), the
// compatibility rules between their versions, and the Confluent wire
// format that carries them on Kafka. The schemas themselves belong to the
// domains, each in its folder (internal/domains/<name>).
//
// The registry is read-only and versioned with the code: each domain's
// folder (internal/domains/<name>) holds a registry.yaml listing its
// subjects' versions with their ids, and the .avsc files beside it, all
// embedded in the binary. Ids are global: the catalog refuses an id two
// sources claim. Publishing a new version is a code change that
// `passerelle schema check` must accept.
package schemas

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/hamba/avro/v2"
	"gopkg.in/yaml.v3"
)

// Version is one registered schema.
type Version struct {
	Subject string
	Version int
	ID      int
	File    string
	// Text is the schema as compact JSON, exactly what the registry API
	// serves and what the sha256 pins.
	Text   string
	Schema avro.Schema
	// Seals, for the schema of sealed records (internal/fieldcrypt), is
	// the clear version whose personal fields it holds as envelopes.
	// Sealed schemas are not versions of their subject: a producer never
	// encodes with one, and the compatibility rules do not apply to them.
	Seals *Version
}

// Subject is a registry subject with its versions, oldest first.
type Subject struct {
	Name          string
	Compatibility Mode
	Versions      []*Version
	// Sealed maps a clear version number to the schema of its sealed
	// records.
	Sealed map[int]*Version
}

// Latest returns the newest version.
func (s *Subject) Latest() *Version { return s.Versions[len(s.Versions)-1] }

// Catalog is the loaded registry.
type Catalog struct {
	subjects []*Subject
	bySubj   map[string]*Subject
	byID     map[int]*Version
}

type manifest struct {
	Subjects []struct {
		Subject       string `yaml:"subject"`
		Compatibility string `yaml:"compatibility"`
		Versions      []struct {
			Version int    `yaml:"version"`
			ID      int    `yaml:"id"`
			File    string `yaml:"file"`
			SHA256  string `yaml:"sha256"`
		} `yaml:"versions"`
		Sealed []struct {
			Seals  int    `yaml:"seals"`
			ID     int    `yaml:"id"`
			File   string `yaml:"file"`
			SHA256 string `yaml:"sha256"`
		} `yaml:"sealed"`
	} `yaml:"subjects"`
}

// Source is one registry.yaml and the schemas it names.
type Source struct {
	// Name says where the source comes from in errors ("tax").
	Name string
	FS   fs.FS
}

// Load reads each source's registry.yaml and the schemas it names, checks
// that ids and versions are well formed, that no id or subject is claimed
// twice, and that released schemas are unchanged. It does not check
// compatibility: see [Catalog.Check].
func Load(sources ...Source) (*Catalog, error) {
	c := &Catalog{bySubj: map[string]*Subject{}, byID: map[int]*Version{}}
	for _, src := range sources {
		if err := c.load(src); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Catalog) load(src Source) error {
	raw, err := fs.ReadFile(src.FS, "registry.yaml")
	if err != nil {
		return fmt.Errorf("%s: read registry: %w", src.Name, err)
	}
	var m manifest
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("%s: registry.yaml: %w", src.Name, err)
	}
	for i, ms := range m.Subjects {
		where := fmt.Sprintf("%s: registry.yaml: subjects[%d]", src.Name, i)
		if ms.Subject == "" {
			return fmt.Errorf("%s.subject: required", where)
		}
		if _, dup := c.bySubj[ms.Subject]; dup {
			return fmt.Errorf("%s.subject: %q listed twice", where, ms.Subject)
		}
		mode, err := ParseMode(ms.Compatibility)
		if err != nil {
			return fmt.Errorf("%s.compatibility: %w", where, err)
		}
		if len(ms.Versions) == 0 {
			return fmt.Errorf("%s.versions: at least one is required", where)
		}
		s := &Subject{Name: ms.Subject, Compatibility: mode}
		for j, mv := range ms.Versions {
			where := fmt.Sprintf("%s.versions[%d]", where, j)
			if mv.Version != j+1 {
				return fmt.Errorf("%s.version: %d, want %d (versions count up from 1)", where, mv.Version, j+1)
			}
			if mv.ID <= 0 {
				return fmt.Errorf("%s.id: must be positive", where)
			}
			if other, dup := c.byID[mv.ID]; dup {
				return fmt.Errorf("%s.id: %d already used by %s version %d", where, mv.ID, other.Subject, other.Version)
			}
			v, err := loadVersion(src.FS, mv.File, mv.SHA256)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			v.Subject, v.Version, v.ID = s.Name, mv.Version, mv.ID
			s.Versions = append(s.Versions, v)
			c.byID[v.ID] = v
		}
		for j, ms := range ms.Sealed {
			where := fmt.Sprintf("%s.sealed[%d]", where, j)
			if ms.Seals < 1 || ms.Seals > len(s.Versions) {
				return fmt.Errorf("%s.seals: %d is not a version of %s", where, ms.Seals, s.Name)
			}
			if s.Sealed[ms.Seals] != nil {
				return fmt.Errorf("%s.seals: version %d is sealed twice", where, ms.Seals)
			}
			if other, dup := c.byID[ms.ID]; dup || ms.ID <= 0 {
				return fmt.Errorf("%s.id: %d is not positive or already used (%v)", where, ms.ID, other)
			}
			v, err := loadVersion(src.FS, ms.File, ms.SHA256)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			v.Subject, v.Version, v.ID, v.Seals = s.Name, 0, ms.ID, s.Versions[ms.Seals-1]
			if s.Sealed == nil {
				s.Sealed = map[int]*Version{}
			}
			s.Sealed[ms.Seals] = v
			c.byID[v.ID] = v
		}
		c.subjects = append(c.subjects, s)
		c.bySubj[s.Name] = s
	}
	return nil
}

func loadVersion(fsys fs.FS, file, wantSum string) (*Version, error) {
	raw, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, fmt.Errorf("file: %w", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, fmt.Errorf("file %s: %w", file, err)
	}
	sum := sha256.Sum256(compact.Bytes())
	if got := hex.EncodeToString(sum[:]); got != wantSum {
		return nil, fmt.Errorf("sha256: %s changed after release (have %s, registry.yaml pins %s): add a new version instead", file, got, wantSum)
	}
	// A fresh cache per file: each .avsc is self-contained, and a shared
	// cache would let one file silently depend on another's named types.
	schema, err := avro.ParseBytesWithCache(compact.Bytes(), "", &avro.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("file %s: %w", file, err)
	}
	return &Version{File: file, Text: compact.String(), Schema: schema}, nil
}

// Subjects returns every subject, in registry order.
func (c *Catalog) Subjects() []*Subject { return slices.Clone(c.subjects) }

// Subject returns one subject or ErrUnknownSubject.
func (c *Catalog) Subject(name string) (*Subject, error) {
	s, ok := c.bySubj[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownSubject, name)
	}
	return s, nil
}

// ByID returns the schema registered under id, or ErrUnknownSchemaID.
func (c *Catalog) ByID(id int) (*Version, error) {
	v, ok := c.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w: %d", ErrUnknownSchemaID, id)
	}
	return v, nil
}

// ValueSubject is the subject of a topic's values under Confluent's
// TopicNameStrategy.
func ValueSubject(topic string) string { return topic + "-value" }

// TopicOf is the inverse of ValueSubject.
func TopicOf(subject string) string { return strings.TrimSuffix(subject, "-value") }
