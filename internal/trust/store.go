package trust

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/passerelle-bus/passerelle/internal/seal"
)

// Store holds the registry in use and replaces it when its files change, so
// a revocation takes effect without a restart. A document that fails its
// signature or goes back in serial is refused and the current one kept.
type Store struct {
	doc, sig string
	anchor   jwk.Key
	log      *slog.Logger

	cur    atomic.Pointer[Registry]
	mu     sync.Mutex // serialises reloads
	digest [sha256.Size]byte
}

// Open loads the registry at doc (signed by sig) and checks it against the
// governance key anchor.
func Open(doc, sig string, anchor jwk.Key, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{doc: doc, sig: sig, anchor: anchor, log: log.With("component", "trust")}
	if _, err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// LoadAnchor reads the governance public key.
func LoadAnchor(path string) (jwk.Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("governance key: %w", err)
	}
	k, err := jwk.ParseKey(bytes.TrimSpace(b))
	if err != nil {
		return nil, fmt.Errorf("governance key %s: %w", path, err)
	}
	if priv, _ := jwk.IsPrivateKey(k); priv {
		if k, err = k.PublicKey(); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Current returns the registry in use.
func (s *Store) Current() *Registry { return s.cur.Load() }

// Reload reads the files again and reports whether a new registry was
// installed.
func (s *Store) Reload() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	doc, err := os.ReadFile(s.doc)
	if err != nil {
		return false, fmt.Errorf("read member registry: %w", err)
	}
	sig, err := os.ReadFile(s.sig)
	if err != nil {
		return false, fmt.Errorf("read member registry signature: %w", err)
	}
	digest := sha256.Sum256(append(append(doc, 0), sig...))
	if digest == s.digest {
		return false, nil
	}
	r, err := Parse(doc, bytes.TrimSpace(sig), s.anchor)
	if err != nil {
		return false, err
	}
	if cur := s.cur.Load(); cur != nil && r.Serial <= cur.Serial {
		return false, fmt.Errorf("%w: serial %d, in use %d", ErrRollback, r.Serial, cur.Serial)
	}
	first := s.cur.Load() == nil
	s.cur.Store(r)
	s.digest = digest
	// The registry a command starts with is no news; a new one while it
	// runs (a member revoked, a key rotated) is.
	level := slog.LevelInfo
	if first {
		level = slog.LevelDebug
	}
	s.log.Log(context.Background(), level, "member registry installed", "serial", r.Serial, "members", len(r.members))
	return true, nil
}

// Watch reloads every interval until ctx ends.
func (s *Store) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Reload(); err != nil {
				s.log.Error("member registry refused; keeping the one in use", "err", err)
			}
		}
	}
}

// SigningKey implements seal.Keys with the registry in use.
func (s *Store) SigningKey(kid string) (seal.Key, error) { return s.Current().SigningKey(kid) }

// MayPublish implements seal.Keys with the registry in use.
func (s *Store) MayPublish(member, domain string) bool {
	return s.Current().MayPublish(member, domain)
}

var _ seal.Keys = (*Store)(nil)
