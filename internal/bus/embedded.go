package bus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

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
	// TLS, if set, is the server side of TLS: the broker then speaks TLS
	// only, and a plaintext client fails its handshake.
	TLS *tls.Config
	// Superuser, if set, locks the broker down as deploy/local/kafka.sh
	// does the real one: every client signs in with SASL, and only this
	// SCRAM-SHA-512 user may do anything the ACLs do not allow. Other
	// users and their ACLs are then created through the Kafka protocol,
	// as on a real cluster ([Client.SetSCRAMPassword], [Client.CreateACLs]).
	Superuser *EmbeddedUser
}

// EmbeddedUser is a SASL user of the embedded broker.
type EmbeddedUser struct {
	Name, Password string
}

// saslStateFile is where kfake keeps the SASL users it was given through
// the protocol. See StartEmbedded for why it is removed at start.
const saslStateFile = "sasl.json"

// StartEmbedded starts a one-node broker and returns once it listens.
//
// A locked-down broker with a DataDir keeps its ACLs across a restart, but
// not its SASL users: kfake would otherwise restore the credentials of the
// last run over the superuser given now (its state wins over its options),
// and a superuser whose password file was made again could no longer sign
// in. The caller sets its users' passwords again at each start; their
// password files are the truth, not the broker's memory of them.
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
	if o.TLS != nil {
		opts = append(opts, kfake.TLS(o.TLS))
	}
	if s := o.Superuser; s != nil {
		if s.Name == "" || s.Password == "" {
			return nil, fmt.Errorf("%w: embedded broker superuser: a name and a password are required", ErrBadConfig)
		}
		opts = append(opts, kfake.EnableSASL(), kfake.EnableACLs(), kfake.Superuser("SCRAM-SHA-512", s.Name, s.Password))
	}
	if o.DataDir != "" {
		if o.Superuser != nil {
			if err := os.Remove(filepath.Join(o.DataDir, saslStateFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("start embedded broker: forget the last run's SASL users: %w", err)
			}
		}
		opts = append(opts, kfake.DataDir(o.DataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded broker on %s: %w", o.Listen, err)
	}
	e := &Embedded{c: c}
	if o.Superuser != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := admitLibrdkafka(ctx, c, e.Addr(), o.TLS); err != nil {
			c.Close()
			return nil, err
		}
	}
	return e, nil
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
