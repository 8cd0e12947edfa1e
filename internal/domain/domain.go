// Package domain says what an administration's domain is: the one
// description every other part of Passerelle reads instead of keeping its
// own list. A domain's folder under internal/domains fills in a Domain;
// internal/domains lists them.
//
// A Domain owns every fact about its records: their topic and schema
// subject, their Go type, the fields of the citizen view they carry and how
// sensitive each is, whether they age, how a connector reads them from the
// member's system and maps them, and how a synthetic population fills that
// system.
package domain

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"time"

	"github.com/passerelle-bus/passerelle/connectors"
	"github.com/passerelle-bus/passerelle/connectors/filedrop"
	"github.com/passerelle-bus/passerelle/connectors/sqlpoll"
	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/schemas"
)

// Domain is one administration's domain.
type Domain struct {
	// Name is the domain's name on the bus: its topics, its pseudonym key,
	// its publisher role (trust.PublisherRole), its fields' prefix.
	Name string
	// Entity is what one record describes ("household"); the topic is
	// passerelle.<name>.<entity>.v1.
	Entity string
	// Doc says in a sentence what the domain holds.
	Doc string
	// Publisher is the member that publishes the domain in the demo and
	// in the examples.
	Publisher Member
	// Schemas holds the domain's registry.yaml and .avsc files.
	Schemas fs.FS
	// Record is the Go type of the records on the topic.
	Record Record
	// Fields are the domain's fields of the citizen view, in their
	// published order: add at the end.
	Fields []Field
	// Breakdowns are the categories a statistic may group the domain's
	// records by (its own and derived ones: an age band, a département).
	Breakdowns []Breakdown
	// Unviewed classes the fields of the record no field of the citizen
	// view reads (a payment's id), so that every field has a class.
	Unviewed map[string]Class
	// Ages says whether a record describes a period or an event (a tax
	// year, a payment), which a purpose's max_age bounds, rather than a
	// present state however old its start.
	Ages bool
	// Mapping turns a row of the member's system into a record.
	Mapping connectors.Mapping
	// Source says how a connector reads the member's system.
	Source Source
	// Synth writes the member's system from a synthetic population.
	Synth func(*synth.Population) synth.Source
	// Sample returns a record with every field set, for the golden
	// encodings and the interoperability tests.
	Sample func() any

	// topic and subject, once Prepare has run: the view decodes every
	// record with them, and formatting them each time cost its replay 11%.
	topic, subject string
}

// Sealed lists the fields of the domain's record that are personal (a
// class for which Class.Personal holds, of a view field that reads them
// or in Unviewed): a connector seals them (internal/fieldcrypt), so that
// destroying one citizen's data key erases them from every copy of the
// log.
func (d *Domain) Sealed() []string {
	var out []string
	add := func(name string) {
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	for _, f := range d.Fields {
		if f.Class.Personal() {
			for _, r := range f.recordFields() {
				add(r)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(d.Unviewed)) {
		if d.Unviewed[name].Personal() {
			add(name)
		}
	}
	return out
}

// Classify returns the class of a field of the domain's record: the most
// sensitive of the view fields that read it, or its Unviewed class.
func (d *Domain) Classify(recordField string) (Class, bool) {
	var class Class
	for _, f := range d.Fields {
		if slices.Contains(f.recordFields(), recordField) && (class == "" || f.Class.Personal()) {
			class = f.Class
		}
	}
	if c, ok := d.Unviewed[recordField]; ok && class == "" {
		class = c
	}
	return class, class != ""
}

// Prepare computes once what the domain's hot paths ask for every record.
// The registry calls it; a Domain works without it, only slower.
func (d *Domain) Prepare() {
	d.topic = bus.DomainTopic(d.Name, d.Entity, 1)
	d.subject = schemas.ValueSubject(d.topic)
}

// Member is a member of the bus, as the trust registry names it.
type Member struct {
	ID   string
	Name string
}

// Topic is the topic of the domain's records.
func (d *Domain) Topic() string {
	if d.topic != "" {
		return d.topic
	}
	return bus.DomainTopic(d.Name, d.Entity, 1)
}

// Subject is the schema registry subject of the topic's values.
func (d *Domain) Subject() string {
	if d.subject != "" {
		return d.subject
	}
	return schemas.ValueSubject(d.Topic())
}

// DeadLetters is the domain's dead-letter topic.
func (d *Domain) DeadLetters() string { return bus.DLQTopic(d.Name) }

// Field returns the domain's field called name ("reference_income").
func (d *Domain) Field(name string) (Field, bool) {
	for _, f := range d.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Breakdown returns the domain's breakdown called name ("age_band").
func (d *Domain) Breakdown(name string) (*Breakdown, bool) {
	for i := range d.Breakdowns {
		if d.Breakdowns[i].Name == name {
			return &d.Breakdowns[i], true
		}
	}
	return nil, false
}

// Decode reads a value of the domain's topic (Confluent wire format) into
// a new record of its type.
func (d *Domain) Decode(codec *schemas.Codec, value []byte) (any, *schemas.Meta, error) {
	r := d.Record.New()
	if _, err := codec.Decode(value, d.Subject(), nil, r); err != nil {
		return nil, nil, err
	}
	return r, d.Record.Meta(r), nil
}

// Record is a domain's Go record type, as RecordOf builds it.
type Record struct {
	// New returns a pointer to a zero record.
	New func() any
	// Meta returns the envelope of a record New returned.
	Meta func(any) *schemas.Meta
}

// RecordOf describes the record type T, whose envelope meta returns.
func RecordOf[T any](meta func(*T) *schemas.Meta) Record {
	return Record{
		New:  func() any { return new(T) },
		Meta: func(r any) *schemas.Meta { return meta(r.(*T)) },
	}
}

// Source is how a connector reads a member's system: exactly one of Table
// and Files is set.
type Source struct {
	// Table is a SQL table polled by an increasing key.
	Table *sqlpoll.Config
	// Files is a directory where the member drops files.
	Files *FileDrop
}

// FileDrop is a file-drop source: files matching Pattern in the inbox,
// parsed by Parser.
type FileDrop struct {
	Pattern string
	Parser  filedrop.Parser
}

// SQL reports whether the source is a SQL table.
func (s Source) SQL() bool { return s.Table != nil }

// Open opens the source: for a table, db is its database.
func (s Source) Open(db *sql.DB, dir string) (connectors.Source, error) {
	if s.Table != nil {
		return sqlpoll.New(db, *s.Table)
	}
	return filedrop.New(dir, s.Files.Pattern, s.Files.Parser)
}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

// Validate checks that d is complete and consistent; the registry runs it
// on every domain, so a domain folder that forgets a fact fails the build's
// tests, not a user.
func (d *Domain) Validate() error {
	switch {
	case !namePattern.MatchString(d.Name):
		return fmt.Errorf("domain %q: name: want lower-case letters and digits", d.Name)
	case !namePattern.MatchString(d.Entity):
		return fmt.Errorf("domain %s: entity %q: want lower-case letters and digits", d.Name, d.Entity)
	case d.Doc == "":
		return fmt.Errorf("domain %s: doc: required", d.Name)
	case d.Publisher.ID == "" || d.Publisher.Name == "":
		return fmt.Errorf("domain %s: publisher: id and name required", d.Name)
	case d.Schemas == nil:
		return fmt.Errorf("domain %s: schemas: required", d.Name)
	case d.Record.New == nil || d.Record.Meta == nil:
		return fmt.Errorf("domain %s: record: use domain.RecordOf", d.Name)
	case d.Mapping == nil:
		return fmt.Errorf("domain %s: mapping: required", d.Name)
	case (d.Source.Table == nil) == (d.Source.Files == nil):
		return fmt.Errorf("domain %s: source: exactly one of table and files", d.Name)
	case d.Source.Files != nil && (d.Source.Files.Pattern == "" || d.Source.Files.Parser == nil):
		return fmt.Errorf("domain %s: source.files: pattern and parser required", d.Name)
	case d.Synth == nil:
		return fmt.Errorf("domain %s: synth: required", d.Name)
	case d.Sample == nil:
		return fmt.Errorf("domain %s: sample: required", d.Name)
	case len(d.Fields) == 0:
		return fmt.Errorf("domain %s: fields: at least one", d.Name)
	}
	seen := map[string]bool{}
	var errs []error
	for i, f := range d.Fields {
		if err := f.validate(); err != nil {
			errs = append(errs, fmt.Errorf("domain %s: fields[%d]: %w", d.Name, i, err))
		}
		if seen[f.Name] {
			errs = append(errs, fmt.Errorf("domain %s: fields[%d]: %q listed twice", d.Name, i, f.Name))
		}
		seen[f.Name] = true
	}
	names := map[string]bool{}
	for i := range d.Breakdowns {
		b := &d.Breakdowns[i]
		if err := b.validate(); err != nil {
			errs = append(errs, fmt.Errorf("domain %s: breakdowns[%d]: %w", d.Name, i, err))
		}
		if names[b.Name] {
			errs = append(errs, fmt.Errorf("domain %s: breakdowns[%d]: %q listed twice", d.Name, i, b.Name))
		}
		names[b.Name] = true
	}
	return errors.Join(errs...)
}

// SampleMeta is the envelope of a domain's sample record: fixed, so the
// golden encodings written from samples never change.
func SampleMeta(name string) schemas.Meta {
	return schemas.Meta{
		RecordID:  "rec-" + name + "-0001",
		Subject:   "pseudo-" + name,
		Source:    "member-" + name,
		EventTime: time.Date(2026, 3, 14, 9, 26, 53, 589e6, time.UTC),
		Op:        schemas.OpUpsert,
	}
}

// SampleDay is a date of a sample record.
func SampleDay(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}
