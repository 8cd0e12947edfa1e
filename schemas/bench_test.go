package schemas_test

import (
	"testing"

	"github.com/passerelle-bus/passerelle/schemas"
)

func BenchmarkEncode(b *testing.B) {
	cat := catalog(b)
	codec := schemas.NewCodec(cat)
	for _, s := range cat.Subjects() {
		v, sample := s.Latest(), samples[s.Name]
		b.Run(s.Name, func(b *testing.B) {
			buf := make([]byte, 0, 512)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = codec.Append(buf[:0], v, sample); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	cat := catalog(b)
	codec := schemas.NewCodec(cat)
	for _, s := range cat.Subjects() {
		sample := samples[s.Name]
		data, err := codec.Append(nil, s.Latest(), sample)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(s.Name, func(b *testing.B) {
			out := fresh(sample)
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := codec.Decode(data, s.Name, nil, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
