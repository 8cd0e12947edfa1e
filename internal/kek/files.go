package kek

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/passerelle-bus/passerelle/internal/keyfile"
)

// Files keeps each domain's KEK in a file of the data directory,
// <dir>/<domain>.kek (mode 0600): the embedded default's stand-in for
// Vault, with the same versions and the same retirement. Wrapped keys are
// "file:v<N>:<base64 of nonce ‖ AES-256-GCM ciphertext>".
type Files struct {
	dir string
	mu  sync.Mutex // one process owns the files (the demo)
}

// NewFiles keeps KEK files in dir.
func NewFiles(dir string) *Files { return &Files{dir: dir} }

// fileKEK is a KEK file: its versions that are still available.
type fileKEK struct {
	Versions map[string][]byte `json:"versions"` // "3" → 32 bytes
	Latest   int               `json:"latest"`
}

func (f *Files) path(domain string) string { return filepath.Join(f.dir, domain+".kek") }

// load reads domain's file, creating version 1 if there is none and
// create says so: only wrapping makes a KEK, unwrapping never does.
func (f *Files) load(domain string, create bool) (*fileKEK, error) {
	b, err := os.ReadFile(f.path(domain))
	if errors.Is(err, fs.ErrNotExist) && !create {
		return nil, fmt.Errorf("%w: %s has no KEK in %s", ErrRefused, domain, f.dir)
	}
	if errors.Is(err, fs.ErrNotExist) {
		k := &fileKEK{Versions: map[string][]byte{}}
		if err := k.add(); err != nil {
			return nil, err
		}
		return k, f.save(domain, k)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var k fileKEK
	if err := json.Unmarshal(b, &k); err != nil || k.Latest < 1 || len(k.Versions[strconv.Itoa(k.Latest)]) != 32 {
		return nil, fmt.Errorf("%w: %s is not a KEK file", ErrUnavailable, f.path(domain))
	}
	return &k, nil
}

func (k *fileKEK) add() error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	k.Latest++
	k.Versions[strconv.Itoa(k.Latest)] = key
	return nil
}

func (f *Files) save(domain string, k *fileKEK) error {
	b, err := json.Marshal(k)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return err
	}
	return keyfile.WriteFile(f.path(domain), b, 0o600)
}

func gcm(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// Wrap implements KEK.
func (f *Files) Wrap(_ context.Context, domain string, key, aad []byte) (string, error) {
	f.mu.Lock()
	k, err := f.load(domain, true)
	f.mu.Unlock()
	if err != nil {
		return "", err
	}
	a, err := gcm(k.Versions[strconv.Itoa(k.Latest)])
	if err != nil {
		return "", err
	}
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(key)+a.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return "file:v" + strconv.Itoa(k.Latest) + ":" + base64.StdEncoding.EncodeToString(a.Seal(nonce, nonce, key, aad)), nil
}

// Unwrap implements KEK.
func (f *Files) Unwrap(_ context.Context, domain, wrapped string, aad []byte) ([]byte, error) {
	v, err := Version(wrapped)
	if err != nil || !strings.HasPrefix(wrapped, "file:v") {
		return nil, fmt.Errorf("%w: not a wrapped key of a KEK file", ErrRefused)
	}
	f.mu.Lock()
	k, err := f.load(domain, false)
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	key, ok := k.Versions[strconv.Itoa(v)]
	if !ok {
		return nil, fmt.Errorf("%w: version %d of %s's KEK is retired", ErrRefused, v, domain)
	}
	_, b64, _ := strings.Cut(strings.TrimPrefix(wrapped, "file:v"), ":")
	ct, err := base64.StdEncoding.DecodeString(b64)
	a, aerr := gcm(key)
	if err != nil || aerr != nil || len(ct) < a.NonceSize() {
		return nil, fmt.Errorf("%w: malformed", ErrRefused)
	}
	out, err := a.Open(nil, ct[:a.NonceSize()], ct[a.NonceSize():], aad)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return out, nil
}

// Rotate implements KEK.
func (f *Files) Rotate(_ context.Context, domain string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, err := f.load(domain, true)
	if err != nil {
		return 0, err
	}
	if err := k.add(); err != nil {
		return 0, err
	}
	return k.Latest, f.save(domain, k)
}

// Retire implements KEK: the versions below are deleted from the file.
func (f *Files) Retire(_ context.Context, domain string, below int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, err := f.load(domain, false)
	if err != nil {
		return err
	}
	if below > k.Latest {
		return fmt.Errorf("kek: cannot retire %s's latest version %d", domain, k.Latest)
	}
	for v := range k.Versions {
		if n, _ := strconv.Atoi(v); n < below {
			delete(k.Versions, v)
		}
	}
	return f.save(domain, k)
}
