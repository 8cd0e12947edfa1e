package bus

import (
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// The conversions between kafka-go's records and the bus's are on the path
// of every record read or written: they keep every field, share the bytes
// rather than copy them, and allocate nothing.
func TestMessageConversions(t *testing.T) {
	at := time.UnixMilli(1_780_000_000_123)
	tests := []struct {
		name string
		m    kafka.Message
	}{
		{"every field", kafka.Message{Topic: "t", Partition: 3, Offset: 42, Key: []byte("k"), Value: []byte("v"),
			Headers: []kafka.Header{{Key: "sig", Value: []byte("s")}, {Key: "empty", Value: []byte{}}, {Key: "sig", Value: nil}}, Time: at}},
		{"a tombstone without key or headers", kafka.Message{Topic: "t", Offset: 7}},
		{"empty, not nil, headers", kafka.Message{Topic: "t", Headers: []kafka.Header{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := fromKafka(tc.m)
			if m.Topic != tc.m.Topic || m.Partition != tc.m.Partition || m.Offset != tc.m.Offset || !m.Time.Equal(tc.m.Time) {
				t.Fatalf("fromKafka(%+v) = %+v", tc.m, m)
			}
			back := toKafka(m)
			if back.Topic != tc.m.Topic || back.Partition != tc.m.Partition || back.Offset != tc.m.Offset || !back.Time.Equal(tc.m.Time) {
				t.Fatalf("toKafka(%+v) = %+v", m, back)
			}
			for _, c := range []struct {
				what      string
				got, want []byte
			}{{"key", m.Key, tc.m.Key}, {"value", m.Value, tc.m.Value}, {"key back", back.Key, tc.m.Key}, {"value back", back.Value, tc.m.Value}} {
				if !same(c.got, c.want) {
					t.Errorf("%s: %q is not the record's own slice %q", c.what, c.got, c.want)
				}
			}
			if (m.Headers == nil) != (tc.m.Headers == nil) || (back.Headers == nil) != (tc.m.Headers == nil) {
				t.Errorf("headers nil: read %v, back %v, want %v", m.Headers == nil, back.Headers == nil, tc.m.Headers == nil)
			}
			if len(m.Headers) != len(tc.m.Headers) || len(back.Headers) != len(tc.m.Headers) {
				t.Fatalf("headers: read %d, back %d, want %d", len(m.Headers), len(back.Headers), len(tc.m.Headers))
			}
			for i, h := range tc.m.Headers {
				if m.Headers[i].Key != h.Key || !same(m.Headers[i].Value, h.Value) || &m.Headers[i].Value != &tc.m.Headers[i].Value {
					t.Errorf("header %d: %+v is not the record's own %+v", i, m.Headers[i], h)
				}
				if &back.Headers[i] != &tc.m.Headers[i] {
					t.Errorf("header %d back: not the record's own", i)
				}
			}
			if n := testing.AllocsPerRun(100, func() { back = toKafka(fromKafka(tc.m)) }); n != 0 {
				t.Errorf("a round trip allocates %v times", n)
			}
		})
	}
}

// same: the two slices are one, or both nil.
func same(a, b []byte) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return len(a) == len(b) && cap(a) == cap(b) && (cap(a) == 0 || &a[:1][0] == &b[:1][0])
}
