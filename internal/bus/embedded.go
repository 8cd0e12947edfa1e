package bus

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Embedded is an in-process broker speaking the Kafka protocol, for the demo
// and the unit tests. kafka-go talks to it as to any broker, so the code
// under test is the production code path.
type Embedded struct {
	c *kfake.Cluster
}

// EmbeddedOptions configure [StartEmbedded].
type EmbeddedOptions struct {
	// Listen is host:port; port 0 picks a free port. Default 127.0.0.1:0.
	Listen string
	// DataDir, if set, makes the log survive a restart.
	DataDir string
	// Log receives the broker's warnings and errors.
	Log *slog.Logger
}

// StartEmbedded starts a one-node broker and returns once it listens.
func StartEmbedded(o EmbeddedOptions) (*Embedded, error) {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	host, portStr, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("%w: broker listen address %q: %v", ErrBadConfig, o.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("%w: broker listen address %q: bad port", ErrBadConfig, o.Listen)
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.ClusterID("passerelle-embedded"),
		kfake.WithLogger(kfakeLogger{log.With("component", "embedded-broker")}),
		// kfake always asks for 127.0.0.1; honour the host the user chose.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
		}),
	}
	if o.DataDir != "" {
		opts = append(opts, kfake.DataDir(o.DataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded broker on %s: %w", o.Listen, err)
	}
	return &Embedded{c: c}, nil
}

// Addr is the address clients bootstrap from.
func (e *Embedded) Addr() string { return e.c.ListenAddrs()[0] }

// Fake exposes the underlying kfake cluster, for fault injection in tests.
func (e *Embedded) Fake() *kfake.Cluster { return e.c }

// Close stops the broker and, with a DataDir, flushes its log to disk.
func (e *Embedded) Close() { e.c.Close() }

type kfakeLogger struct{ log *slog.Logger }

func (l kfakeLogger) Logf(level kfake.LogLevel, msg string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		l.log.Error(fmt.Sprintf(msg, args...))
	case kfake.LogLevelWarn:
		l.log.Warn(fmt.Sprintf(msg, args...))
	}
}
