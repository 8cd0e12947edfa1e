package busacl

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/config"
)

// Diff is how a cluster's authorizer differs from the file, for the file's
// principals: entries the file means that the cluster lacks, and entries
// the cluster has that the file does not mean. Other principals' entries
// (an operator's own) are not the file's business.
type Diff struct {
	Missing, Extra []bus.ACL
}

// Empty says the cluster says exactly what the file says.
func (d Diff) Empty() bool { return len(d.Missing) == 0 && len(d.Extra) == 0 }

func (d Diff) String() string {
	var b strings.Builder
	for _, a := range d.Missing {
		fmt.Fprintf(&b, "missing: %s\n", a)
	}
	for _, a := range d.Extra {
		fmt.Fprintf(&b, "extra:   %s\n", a)
	}
	return b.String()
}

// Compare reads the cluster's ACLs and compares them with the file.
func Compare(ctx context.Context, c *bus.Client, f *File) (Diff, error) {
	have, err := c.ACLs(ctx, f.Principals()...)
	if err != nil {
		return Diff{}, err
	}
	want := f.ACLs()
	set := func(acls []bus.ACL) map[bus.ACL]bool {
		m := make(map[bus.ACL]bool, len(acls))
		for _, a := range acls {
			m[a] = true
		}
		return m
	}
	haveSet, wantSet := set(have), set(want)
	var d Diff
	for _, a := range want {
		if !haveSet[a] {
			d.Missing = append(d.Missing, a)
			haveSet[a] = true // listed once
		}
	}
	for _, a := range have {
		if !wantSet[a] {
			d.Extra = append(d.Extra, a)
		}
	}
	return d, nil
}

// Apply makes the cluster's ACLs for the file's principals exactly the
// file's, and returns what it changed. Run twice, the second run changes
// nothing.
func Apply(ctx context.Context, c *bus.Client, f *File) (Diff, error) {
	d, err := Compare(ctx, c, f)
	if err != nil {
		return Diff{}, err
	}
	if err := c.CreateACLs(ctx, d.Missing); err != nil {
		return Diff{}, err
	}
	if err := c.DeleteACLs(ctx, d.Extra); err != nil {
		return Diff{}, err
	}
	// The controller takes the change; each broker's authorizer sees it a
	// moment later. Return once the cluster says what the file says, so
	// that whoever applied it can rely on it.
	for {
		now, err := Compare(ctx, c, f)
		if err != nil {
			return Diff{}, err
		}
		if now.Empty() {
			return d, nil
		}
		select {
		case <-ctx.Done():
			return Diff{}, fmt.Errorf("the cluster's ACLs still differ from the file: %w\n%s", ctx.Err(), now)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// SetPasswords gives every SCRAM user of the file its credential: the
// password in dir/<name>.password, made (mode 0600, 24 random bytes) when
// absent. The file is what the user's component is then configured with.
func SetPasswords(ctx context.Context, c *bus.Client, f *File, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, u := range f.Users {
		if u.Authentication.Type != "scram-sha-512" {
			continue
		}
		pw, err := EnsurePassword(filepath.Join(dir, u.Name+".password"))
		if err != nil {
			return fmt.Errorf("user %s: %w", u.Name, err)
		}
		if err := c.SetSCRAMPassword(ctx, u.Name, pw); err != nil {
			return err
		}
	}
	return nil
}

// EnsurePassword reads the password in path, or makes one there (mode
// 0600, 24 random bytes, hex) when the file is absent. A file others may
// read is refused, not used.
func EnsurePassword(path string) (string, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		b := make([]byte, 24)
		rand.Read(b)
		pw := hex.EncodeToString(b)
		return pw, os.WriteFile(path, []byte(pw+"\n"), 0o600)
	}
	pw, err := config.SecretFile(path) // the same rule as file:PATH in a configuration
	if err != nil {
		return "", err
	}
	return pw.Value(), nil
}
