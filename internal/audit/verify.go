package audit

import (
	"context"
	"errors"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

// Report is what a verified replay of the audit log holds.
type Report struct {
	Events      int64
	Checkpoints int
	// Duplicates are events written twice by a producer retry: identical
	// signed copies, which the tree counts as leaves.
	Duplicates int64
	// Latest is the largest checkpoint; events past its size are not yet
	// signed by any checkpoint.
	Latest   Published
	Unsigned int64
}

// Report summarises the trail so far.
func (t *Trail) Report() Report {
	r := Report{Events: t.Size(), Duplicates: t.Duplicates(), Checkpoints: len(t.Checkpoints())}
	if p, ok := t.Latest(); ok {
		r.Latest = p
	}
	r.Unsigned = r.Events - r.Latest.Size
	return r
}

// Verify replays topic from its first record into a fresh trail and
// returns at the first *Finding: a forged or malformed record, a dropped
// event, a checkpoint whose signature is not a gateway's or whose root is
// not the replayed one.
func Verify(ctx context.Context, client *bus.Client, registry *trust.Store, o TrailOptions) (Report, error) {
	t := verifierTrail(registry, o)
	defer t.release()
	// Fetching and checking overlap: kafka-go decodes the next records on
	// one core while the trail hashes these on the other.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []Record, 64)
	checked := make(chan error, 1)
	go func() {
		var first error
		for b := range batches {
			for _, r := range b {
				if first != nil {
					break
				}
				if first = t.Add(r); first != nil {
					cancel() // stop fetching: the finding is the answer
				}
			}
		}
		checked <- first
	}()
	batch := make([]Record, 0, verifyBatch)
	err := client.Replay(ctx, o.Topic, bus.ReplayOptions{}, func(m bus.Message) error {
		if batch = append(batch, FromMessage(m)); len(batch) == verifyBatch {
			select {
			case batches <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
			batch = make([]Record, 0, verifyBatch)
		}
		return nil
	})
	if err == nil {
		batches <- batch
	}
	close(batches)
	if found := <-checked; found != nil {
		return t.Report(), found
	}
	if err == nil {
		err = t.Finish()
	}
	return t.Report(), err
}

// verifyBatch is how many records the fetching goroutine hands over at once.
const verifyBatch = 512

// VerifyRecords is Verify over records already read.
func VerifyRecords(records []Record, registry *trust.Store, o TrailOptions) (Report, error) {
	t := verifierTrail(registry, o)
	defer t.release()
	for _, r := range records {
		if err := t.Add(r); err != nil {
			return t.Report(), err
		}
	}
	return t.Report(), t.Finish()
}

// verifierTrail keeps only the tree, registers nothing and defers
// signature checks to what no checkpoint vouches for.
func verifierTrail(registry *trust.Store, o TrailOptions) *Trail {
	o.KeepEvents, o.Metrics, o.Deferred = false, nil, true
	return NewTrail(registry, o)
}

// FromMessage takes what the trail needs of a Kafka record.
func FromMessage(m bus.Message) Record {
	r := Record{Offset: m.Offset, Key: m.Key, Value: m.Value}
	r.Sig, r.Batch = seal.Headers(m.Headers)
	return r
}

// IsFinding reports whether err is a tampering finding rather than a
// failure to read the log.
func IsFinding(err error) bool { return errors.Is(err, ErrTampered) }
