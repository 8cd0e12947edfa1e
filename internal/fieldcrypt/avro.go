package fieldcrypt

import (
	"encoding/binary"
	"fmt"

	"github.com/hamba/avro/v2"
)

// errAvro: the bytes are not a value of the schema. It is ErrMalformed:
// a signed record whose sealed body does not walk is refused and counted
// as forged by its readers, never taken for a key service fault.
var errAvro = fmt.Errorf("%w: not an Avro value of its schema", ErrMalformed)

// maxDepth bounds nested schemas while skipping; a record schema here is a
// few levels deep.
const maxDepth = 32

// skip returns where the Avro binary value of s starting at b[i] ends. It
// walks the encoding without decoding it, so that a field's bytes can be
// sealed or put back exactly as written.
func skip(s avro.Schema, b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, fmt.Errorf("%w: nested too deep", errAvro)
	}
	switch s := s.(type) {
	case *avro.RefSchema:
		return skip(s.Schema(), b, i, depth+1)
	case *avro.NullSchema:
		return i, nil
	case *avro.PrimitiveSchema:
		switch s.Type() {
		case avro.Null:
			return i, nil
		case avro.Boolean:
			return need(b, i, 1)
		case avro.Int, avro.Long:
			_, j, err := varint(b, i)
			return j, err
		case avro.Float:
			return need(b, i, 4)
		case avro.Double:
			return need(b, i, 8)
		case avro.Bytes, avro.String:
			n, j, err := varint(b, i)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("%w: length", errAvro)
			}
			return need(b, j, n)
		}
	case *avro.EnumSchema:
		n, j, err := varint(b, i)
		if err != nil || n < 0 || n >= int64(len(s.Symbols())) {
			return 0, fmt.Errorf("%w: enum index", errAvro)
		}
		return j, nil
	case *avro.FixedSchema:
		return need(b, i, int64(s.Size()))
	case *avro.UnionSchema:
		n, j, err := varint(b, i)
		if err != nil || n < 0 || n >= int64(len(s.Types())) {
			return 0, fmt.Errorf("%w: union branch", errAvro)
		}
		return skip(s.Types()[n], b, j, depth+1)
	case *avro.ArraySchema:
		return skipBlocks(b, i, func(j int) (int, error) { return skip(s.Items(), b, j, depth+1) })
	case *avro.MapSchema:
		return skipBlocks(b, i, func(j int) (int, error) {
			j, err := skip(avro.NewPrimitiveSchema(avro.String, nil), b, j, depth+1)
			if err != nil {
				return 0, err
			}
			return skip(s.Values(), b, j, depth+1)
		})
	case *avro.RecordSchema:
		for _, f := range s.Fields() {
			var err error
			if i, err = skip(f.Type(), b, i, depth+1); err != nil {
				return 0, err
			}
		}
		return i, nil
	}
	return 0, fmt.Errorf("%w: schema type %s is not supported", errAvro, s.Type())
}

// skipBlocks skips an array's or a map's blocks: a count, negative when a
// byte size follows it, then that many items; a count of zero ends them.
func skipBlocks(b []byte, i int, item func(int) (int, error)) (int, error) {
	for {
		n, j, err := varint(b, i)
		if err != nil {
			return 0, err
		}
		i = j
		if n == 0 {
			return i, nil
		}
		if n < 0 {
			if _, i, err = varint(b, i); err != nil {
				return 0, err
			}
			n = -n
		}
		// Refused, so a forged count cannot make the walk spin: every
		// item of our schemas takes one byte at least (no arrays of null).
		if n > int64(len(b)-i) {
			return 0, fmt.Errorf("%w: block of %d items in %d bytes", errAvro, n, len(b)-i)
		}
		for ; n > 0; n-- {
			if i, err = item(i); err != nil {
				return 0, err
			}
		}
	}
}

// varint reads a zig-zag encoded long.
func varint(b []byte, i int) (int64, int, error) {
	if i > len(b) {
		return 0, 0, fmt.Errorf("%w: truncated", errAvro)
	}
	u, n := binary.Uvarint(b[i:])
	if n <= 0 {
		return 0, 0, fmt.Errorf("%w: varint", errAvro)
	}
	return int64(u>>1) ^ -int64(u&1), i + n, nil
}

func need(b []byte, i int, n int64) (int, error) {
	if n > int64(len(b)-i) {
		return 0, fmt.Errorf("%w: truncated", errAvro)
	}
	return i + int(n), nil
}

// appendBytes appends v as an Avro bytes value.
func appendBytes(dst, v []byte) []byte {
	u := uint64(len(v)) << 1
	return append(binary.AppendUvarint(dst, u), v...)
}
