// Package keyfile keeps private signing keys as JWK files in the data
// directory, one folder per owner, readable by the owner only: the embedded
// default, where Vault holds them in production.
//
//	<dir>/<owner>/<kid>.jwk   a private key (mode 0600)
//	<dir>/<owner>/current     the kid new signatures use
package keyfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/passerelle-bus/passerelle/internal/seal"
)

// ErrNoKey means the owner has no key yet: run `passerelle keys gen`.
var ErrNoKey = errors.New("no key")

var ownerRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Dir is a key directory.
type Dir string

func (d Dir) owner(id string) (string, error) {
	if !ownerRE.MatchString(id) {
		return "", fmt.Errorf("key owner %q: want lower-case letters, digits and dashes", id)
	}
	return filepath.Join(string(d), id), nil
}

// Generate creates a new key for owner and makes it current. Older keys
// stay, so records they signed still verify while they are published.
func (d Dir) Generate(owner, alg string) (jwk.Key, error) {
	dir, err := d.owner(owner)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("key directory: %w", err)
	}
	k, err := seal.GenerateKey(alg)
	if err != nil {
		return nil, err
	}
	kid, _ := k.KeyID()
	b, err := json.Marshal(k)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	if err := writeFile(filepath.Join(dir, kid+".jwk"), b); err != nil {
		return nil, err
	}
	// Written last and atomically: a crash leaves the old key current.
	if err := writeFile(filepath.Join(dir, "current"), []byte(kid+"\n")); err != nil {
		return nil, err
	}
	return k, nil
}

// writeFile writes atomically with mode 0600.
func writeFile(path string, b []byte) error { return WriteFile(path, b, 0o600) }

// WriteFile writes b to path atomically with mode perm: a temporary file
// in the same directory, synced, then renamed over path, so a crash
// leaves the old file or the new one, never half of one, and the content
// is never readable with a wider mode, even for a moment.
func WriteFile(path string, b []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Current returns owner's current private key.
func (d Dir) Current(owner string) (jwk.Key, error) {
	dir, err := d.owner(owner)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "current"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w for %s in %s: run passerelle keys gen", ErrNoKey, owner, d)
	}
	if err != nil {
		return nil, fmt.Errorf("current key of %s: %w", owner, err)
	}
	return readKey(filepath.Join(dir, strings.TrimSpace(string(b))+".jwk"))
}

// All returns every key of owner, oldest kid first in name order.
func (d Dir) All(owner string) ([]jwk.Key, error) {
	dir, err := d.owner(owner)
	if err != nil {
		return nil, err
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.jwk"))
	if err != nil {
		return nil, err
	}
	slices.Sort(paths)
	var keys []jwk.Key
	for _, p := range paths {
		k, err := readKey(p)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w for %s in %s", ErrNoKey, owner, d)
	}
	return keys, nil
}

func readKey(path string) (jwk.Key, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is readable by others (mode %v): chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	k, err := jwk.ParseKey(bytes.TrimSpace(b))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// Signer returns a signer with owner's current key.
func (d Dir) Signer(owner string) (*seal.KeySigner, error) {
	k, err := d.Current(owner)
	if err != nil {
		return nil, err
	}
	return seal.NewKeySigner(k)
}

// PublicSet returns the public JWKS of owner's keys.
func (d Dir) PublicSet(owner string) (jwk.Set, error) {
	keys, err := d.All(owner)
	if err != nil {
		return nil, err
	}
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := k.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		if err := set.AddKey(pub); err != nil {
			return nil, err
		}
	}
	return set, nil
}
