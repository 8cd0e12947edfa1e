package bus

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// librdkafka is the ClientSoftwareName librdkafka sends in ApiVersions.
const librdkafka = "librdkafka"

// admitLibrdkafka lets librdkafka 2.0.2 (Debian's kcat and Python
// client) sign in to the locked-down embedded broker.
//
// Such a librdkafka uses SASL only with a broker whose ApiVersions
// include SaslHandshake v0 (its "SASL handshake" feature), then speaks v1
// with SaslAuthenticate; kfake, like Kafka 4 (KIP-896), serves only v1,
// and librdkafka gives up with "SASL Handshake not supported by broker"
// before sending a byte of SASL. So, to librdkafka's ApiVersions only,
// the broker answers its usual answer with SaslHandshake from v0: the v1
// that librdkafka then sends is what kfake serves. Every other client
// gets kfake's own answer. The usual answer is asked of the broker once,
// at start, by a client of ours (ApiVersions needs no sign-in).
func admitLibrdkafka(ctx context.Context, c *kfake.Cluster, addr string, tc *tls.Config) error {
	opts := []kgo.Opt{kgo.SeedBrokers(addr), kgo.DialTimeout(5 * time.Second)}
	if tc != nil {
		// Our own listener, in this process, asked for a list of API
		// versions: nothing to authenticate.
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})) //nolint:gosec // see above
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("ask the embedded broker its API versions: %w", err)
	}
	defer cl.Close()
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3 // what librdkafka 2.x asks; older versions carry less of the same
	req.ClientSoftwareName, req.ClientSoftwareVersion = "passerelle", "1"
	usual, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("ask the embedded broker its API versions: %w", err)
	}
	if usual.ErrorCode != 0 {
		return fmt.Errorf("ask the embedded broker its API versions: error code %d", usual.ErrorCode)
	}
	for i, k := range usual.ApiKeys {
		if k.ApiKey == int16(kmsg.SASLHandshake) {
			usual.ApiKeys[i].MinVersion = 0
		}
	}
	c.ControlKey(int16(kmsg.ApiVersions), func(r kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := r.(*kmsg.ApiVersionsRequest)
		if req.ClientSoftwareName != librdkafka || req.Version > usual.Version {
			return nil, nil, false // kfake answers
		}
		resp := *usual
		resp.Version = req.Version
		return &resp, nil, true
	})
	return nil
}
