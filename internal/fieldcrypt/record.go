package fieldcrypt

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/hamba/avro/v2"
)

// Plan seals the personal fields of one record schema. A sealed record is
// the same record with each personal field's type replaced by bytes,
// holding the envelope of the field's Avro encoding under the clear
// schema: opening puts those exact bytes back, so the clear record
// decodes as it always did, and a field of any type (a union, an array,
// a date) is sealed alike. Fields keep their order, so meta, which is
// never personal, stays first and in clear.
type Plan struct {
	clear   *avro.RecordSchema
	sealed  avro.Schema
	domain  string
	isField []bool // by field index: sealed or not
	names   []string
}

// NewPlan plans the sealing of the fields named (top-level fields of
// clear) for domain's records.
func NewPlan(domain string, clear avro.Schema, fields []string) (*Plan, error) {
	rs, ok := clear.(*avro.RecordSchema)
	if !ok {
		return nil, fmt.Errorf("fieldcrypt: %s is not a record schema", clear.Type())
	}
	p := &Plan{clear: rs, domain: domain, isField: make([]bool, len(rs.Fields()))}
	for _, name := range fields {
		i := slices.IndexFunc(rs.Fields(), func(f *avro.Field) bool { return f.Name() == name })
		if i < 0 {
			return nil, fmt.Errorf("fieldcrypt: %s has no field %q", rs.FullName(), name)
		}
		if i == 0 {
			return nil, fmt.Errorf("fieldcrypt: %s's first field %q identifies the record and stays in clear", rs.FullName(), name)
		}
		p.isField[i] = true
	}
	for i, f := range rs.Fields() {
		if p.isField[i] {
			p.names = append(p.names, f.Name())
		}
	}
	s, err := p.sealedSchema()
	if err != nil {
		return nil, err
	}
	p.sealed = s
	return p, nil
}

// Fields are the sealed fields, in the record's order.
func (p *Plan) Fields() []string { return p.names }

// Sealed is the schema of sealed records.
func (p *Plan) Sealed() avro.Schema { return p.sealed }

// sealedSchema writes the clear schema with every sealed field's type
// made bytes; its default goes, as no envelope is a default.
func (p *Plan) sealedSchema() (avro.Schema, error) {
	var doc map[string]any
	if err := json.Unmarshal([]byte(p.clear.String()), &doc); err != nil {
		return nil, err
	}
	fields, _ := doc["fields"].([]any)
	for i, f := range fields {
		if !p.isField[i] {
			continue
		}
		m := f.(map[string]any)
		m["type"] = "bytes"
		delete(m, "default")
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	s, err := avro.ParseBytesWithCache(b, "", &avro.SchemaCache{})
	if err != nil {
		// A named type defined inside a sealed field and used by another
		// field would be lost: such a schema cannot be sealed as is.
		return nil, fmt.Errorf("fieldcrypt: sealing %s: %w", p.clear.FullName(), err)
	}
	return s, nil
}

// Seal returns the sealed body of a record body (its Avro encoding under
// the clear schema, without the wire-format header), each sealed field
// under dk, bound to the record's subject and id.
func (p *Plan) Seal(dst, body []byte, dk DataKey, subject, recordID string, random io.Reader) ([]byte, error) {
	i := 0
	for n, f := range p.clear.Fields() {
		j, err := skip(f.Type(), body, i, 0)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name(), err)
		}
		if !p.isField[n] {
			dst = append(dst, body[i:j]...)
		} else {
			env, err := Seal(dk, Identity{Domain: p.domain, Subject: subject, RecordID: recordID, Field: f.Name()}, body[i:j], random)
			if err != nil {
				return nil, err
			}
			dst = appendBytes(dst, env)
		}
		i = j
	}
	if i != len(body) {
		return nil, fmt.Errorf("%w: %d bytes after the record", errAvro, len(body)-i)
	}
	return dst, nil
}

// Open returns the clear body of a sealed body; keys gives the data key
// of a key id (asked once per record and key). A field that does not open
// is ErrShredded (its key is gone), ErrForged (moved, swapped, altered),
// ErrMalformed or keys' error; the record is then refused whole, never
// served in part.
func (p *Plan) Open(dst, body []byte, subject, recordID string, keys func(KeyID) ([32]byte, error)) ([]byte, error) {
	var (
		held    KeyID
		heldKey [32]byte
		holds   bool
	)
	i := 0
	for n, f := range p.clear.Fields() {
		if !p.isField[n] {
			j, err := skip(f.Type(), body, i, 0)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name(), err)
			}
			dst = append(dst, body[i:j]...)
			i = j
			continue
		}
		size, j, err := varint(body, i)
		if err != nil || size < 0 || size > int64(len(body)-j) {
			return nil, fmt.Errorf("field %s: %w", f.Name(), ErrMalformed)
		}
		env := body[j : j+int(size)]
		kid, err := KeyOf(env)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name(), err)
		}
		if !holds || kid != held {
			if heldKey, err = keys(kid); err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name(), err)
			}
			held, holds = kid, true
		}
		v, err := Open(env, Identity{Domain: p.domain, Subject: subject, RecordID: recordID, Field: f.Name()},
			func(KeyID) ([32]byte, bool) { return heldKey, true })
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name(), err)
		}
		// What opened must be one value of the field's clear type and
		// nothing more: a key holder could seal anything.
		if end, err := skip(f.Type(), v, 0, 0); err != nil || end != len(v) {
			return nil, fmt.Errorf("field %s: %w: the sealed value is not one %s", f.Name(), ErrForged, f.Type().Type())
		}
		dst = append(dst, v...)
		i = j + int(size)
	}
	if i != len(body) {
		return nil, fmt.Errorf("%w: %d bytes after the record", ErrMalformed, len(body)-i)
	}
	return dst, nil
}

// KeyIDs returns the key ids a sealed body's envelopes name, without
// opening them: a reader looks its keys up first.
func (p *Plan) KeyIDs(body []byte) ([]KeyID, error) {
	var ids []KeyID
	i := 0
	for n, f := range p.sealed.(*avro.RecordSchema).Fields() {
		j, err := skip(f.Type(), body, i, 0)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name(), err)
		}
		if p.isField[n] {
			_, k, _ := varint(body, i)
			id, err := KeyOf(body[k:j])
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name(), err)
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		i = j
	}
	return ids, nil
}
