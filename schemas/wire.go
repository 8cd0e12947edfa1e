package schemas

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/hamba/avro/v2"
)

// Limits on what a decoder allocates for one value. Our records hold short
// strings; a length prefix beyond these is an attack or a corruption, and
// refusing it keeps a 10-byte input from reserving gigabytes.
const (
	MaxStringBytes = 64 << 10
	MaxSliceAlloc  = 1 << 20
)

// HeaderSize is the Confluent wire-format header: magic byte 0 and a 4-byte
// big-endian schema id.
const HeaderSize = 5

const magic = 0

// Codec encodes and decodes values in the Confluent wire format, resolving
// the writer's schema by id against the catalog. It is safe for concurrent
// use.
type Codec struct {
	cat      *Catalog
	api      avro.API
	readers  sync.Pool
	writers  sync.Pool
	resolved sync.Map // resolveKey → avro.Schema
}

type resolveKey struct {
	writerID int
	// The reader schema's identity, not its fingerprint: the canonical
	// fingerprint ignores defaults, which resolution uses.
	reader avro.Schema
}

// NewCodec returns a codec over cat.
func NewCodec(cat *Catalog) *Codec {
	api := avro.Config{
		MaxByteSliceSize:  MaxStringBytes,
		MaxSliceAllocSize: MaxSliceAlloc,
		// A union value whose Go type matches no branch must fail, not be
		// written as null.
		UnionResolutionError: true,
		// Arrays as plain counts: the block-size form is valid Avro, but
		// it makes our bytes differ from every other encoder's.
		DisableBlockSizeHeader: true,
	}.Freeze()
	c := &Codec{cat: cat, api: api}
	c.readers.New = func() any { return avro.NewReader(nil, 0, avro.WithReaderConfig(api)) }
	c.writers.New = func() any { return avro.NewWriter(nil, 512, avro.WithWriterConfig(api)) }
	return c
}

// Catalog returns the catalog the codec resolves ids against.
func (c *Codec) Catalog() *Catalog { return c.cat }

// Append encodes val with schema version v and appends the wire-format
// value to dst.
func (c *Codec) Append(dst []byte, v *Version, val any) ([]byte, error) {
	w := c.writers.Get().(*avro.Writer)
	defer c.writers.Put(w)
	w.Reset(nil)
	w.WriteVal(v.Schema, val)
	if w.Error != nil {
		err := w.Error
		w.Error = nil
		return dst, fmt.Errorf("encode %s version %d: %w", v.Subject, v.Version, err)
	}
	return append(AppendHeader(dst, v.ID), w.Buffer()...), nil
}

// Encode is Append to a new slice with the latest version of subject.
func (c *Codec) Encode(subject string, val any) ([]byte, error) {
	s, err := c.cat.Subject(subject)
	if err != nil {
		return nil, err
	}
	return c.Append(nil, s.Latest(), val)
}

// AppendHeader appends the wire-format header of schema id.
func AppendHeader(dst []byte, id int) []byte {
	return binary.BigEndian.AppendUint32(append(dst, magic), uint32(id))
}

// DecodeMeta decodes only the meta field of a record, sealed or not: a
// reader that cannot open a sealed record still learns its subject,
// record id and time.
func (c *Codec) DecodeMeta(data []byte, subject string) (*Meta, *Version, error) {
	id, err := SchemaID(data)
	if err != nil {
		return nil, nil, err
	}
	wv, err := c.cat.ByID(id)
	if err != nil {
		return nil, nil, err
	}
	if wv.Subject != subject {
		return nil, nil, fmt.Errorf("%w: schema id %d is %s, the topic's subject is %s", ErrSubjectMismatch, id, wv.Subject, subject)
	}
	rs, ok := wv.Schema.(*avro.RecordSchema)
	if !ok || len(rs.Fields()) == 0 || rs.Fields()[0].Name() != "meta" {
		return nil, nil, fmt.Errorf("%w: %s: meta is not the record's first field", ErrMalformed, wv.Subject)
	}
	// Only meta's bytes are read: skipping the rest with the decoder
	// would walk any block count a forged record claims.
	var out Meta
	r := c.readers.Get().(*avro.Reader)
	defer c.readers.Put(r)
	r.Reset(data[HeaderSize:])
	r.ReadVal(rs.Fields()[0].Type(), &out)
	if err := r.Error; err != nil {
		r.Error = nil
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrMalformed, wv.Subject, err)
	}
	return &out, wv, nil
}

// SchemaID reads the schema id from a wire-format value's header.
func SchemaID(data []byte) (int, error) {
	if len(data) < HeaderSize {
		return 0, fmt.Errorf("%w: %d bytes, the header alone is %d", ErrTruncated, len(data), HeaderSize)
	}
	if data[0] != magic {
		return 0, fmt.Errorf("%w: 0x%02x", ErrBadMagic, data[0])
	}
	return int(binary.BigEndian.Uint32(data[1:HeaderSize])), nil
}

// Decode decodes a wire-format value read from subject's topic into out.
// reader is the schema out was written for; nil means "the writer's own
// schema". It returns the writer's version. Errors wrap ErrTruncated,
// ErrBadMagic, ErrUnknownSchemaID, ErrSubjectMismatch, ErrIncompatible or
// ErrMalformed.
func (c *Codec) Decode(data []byte, subject string, reader avro.Schema, out any) (*Version, error) {
	id, err := SchemaID(data)
	if err != nil {
		return nil, err
	}
	wv, err := c.cat.ByID(id)
	if err != nil {
		return nil, err
	}
	if wv.Subject != subject {
		return nil, fmt.Errorf("%w: schema id %d is %s, the topic's subject is %s", ErrSubjectMismatch, id, wv.Subject, subject)
	}
	if wv.Seals != nil {
		// Decoded as it stands, an envelope would pass for a name by
		// Avro's promotion of bytes to string.
		return nil, fmt.Errorf("%w: schema id %d seals %s version %d", ErrSealed, id, wv.Subject, wv.Seals.Version)
	}
	schema, err := c.readSchema(wv, reader)
	if err != nil {
		return nil, err
	}
	r := c.readers.Get().(*avro.Reader)
	defer c.readers.Put(r)
	r.Reset(data[HeaderSize:])
	r.ReadVal(schema, out)
	if err := r.Error; err != nil {
		r.Error = nil
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %s version %d: %w", ErrTruncated, wv.Subject, wv.Version, err)
		}
		return nil, fmt.Errorf("%w: %s version %d: %w", ErrMalformed, wv.Subject, wv.Version, err)
	}
	// Peek sets io.EOF when nothing is left; anything else is bytes the
	// writer's schema does not account for.
	r.Peek()
	if r.Error == nil {
		return nil, fmt.Errorf("%w: %s version %d: trailing bytes after the record", ErrMalformed, wv.Subject, wv.Version)
	}
	r.Error = nil
	return wv, nil
}

func (c *Codec) readSchema(wv *Version, reader avro.Schema) (avro.Schema, error) {
	if reader == nil || reader == wv.Schema {
		return wv.Schema, nil
	}
	key := resolveKey{wv.ID, reader}
	if s, ok := c.resolved.Load(key); ok {
		return s.(avro.Schema), nil
	}
	s, err := avro.NewSchemaCompatibility().Resolve(reader, wv.Schema)
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s version %d: %w", ErrIncompatible, wv.Subject, wv.Version, err)
	}
	c.resolved.Store(key, s)
	return s, nil
}
