package pseudo

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/passerelle-bus/passerelle/internal/transit"
)

// keySize is the HMAC key length: SHA-256's block-sized security level.
const keySize = 32

// FileKeyring keeps each key as 32 random bytes in a file of its own,
// readable by the owner only. It is the embedded default.
type FileKeyring struct {
	dir  string
	mu   sync.Mutex
	keys map[string][]byte
}

// NewFileKeyring reads keys from dir lazily.
func NewFileKeyring(dir string) *FileKeyring {
	return &FileKeyring{dir: dir, keys: map[string][]byte{}}
}

func (k *FileKeyring) file(name string) string { return filepath.Join(k.dir, name+".key") }

// Ensure creates the named keys that do not exist yet.
func (k *FileKeyring) Ensure(names ...string) error {
	if err := os.MkdirAll(k.dir, 0o700); err != nil {
		return fmt.Errorf("key directory: %w", err)
	}
	for _, n := range names {
		key := make([]byte, keySize)
		rand.Read(key)
		f, err := os.OpenFile(k.file(n), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("create key %s: %w", n, err)
		}
		_, werr := f.Write(key)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("write key %s: %w", n, werr)
		}
	}
	return nil
}

func (k *FileKeyring) key(name string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.keys[name]; ok {
		return key, nil
	}
	path := k.file(name)
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("pseudonym key %s: %w", name, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("pseudonym key %s: %s is readable by others (mode %v): chmod 600 it", name, path, st.Mode().Perm())
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pseudonym key %s: %w", name, err)
	}
	if len(key) != keySize {
		return nil, fmt.Errorf("pseudonym key %s: %d bytes, want %d", name, len(key), keySize)
	}
	k.keys[name] = key
	return key, nil
}

// HMAC implements Keyring.
func (k *FileKeyring) HMAC(_ context.Context, name string, msgs [][]byte) ([][]byte, error) {
	key, err := k.key(name)
	if err != nil {
		return nil, err
	}
	h := hmac.New(sha256.New, key)
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		h.Reset()
		h.Write(m)
		out[i] = h.Sum(nil)
	}
	return out, nil
}

// VaultKeyring computes HMACs in Vault Transit. Keys are pinned at version 1:
// rotating a pseudonym key would silently re-key every citizen.
type VaultKeyring struct {
	t      *transit.Client
	prefix string
}

// NewVaultKeyring uses Transit keys named prefix+name.
func NewVaultKeyring(t *transit.Client, prefix string) *VaultKeyring {
	return &VaultKeyring{t: t, prefix: prefix}
}

// Ensure creates the named HMAC keys in Vault unless they exist.
func (k *VaultKeyring) Ensure(ctx context.Context, names ...string) error {
	for _, n := range names {
		if err := k.t.EnsureKey(ctx, k.prefix+n, transit.HMACKey); err != nil {
			return err
		}
	}
	return nil
}

// HMAC implements Keyring, one round trip per call.
func (k *VaultKeyring) HMAC(ctx context.Context, name string, msgs [][]byte) ([][]byte, error) {
	return k.t.HMAC(ctx, k.prefix+name, 1, msgs)
}

var (
	_ Keyring = (*FileKeyring)(nil)
	_ Keyring = (*VaultKeyring)(nil)
)
