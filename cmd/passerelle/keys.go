package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"gopkg.in/yaml.v3"

	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/keyfile"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

// keysVerbs are the verbs' synopses, after --data DIR.
var keysVerbs = map[string]string{
	"gen": "--member ID [--alg EdDSA|ES256]", "rotate": "--member ID [--alg EdDSA|ES256]", "jwks": "--member ID",
	"pseudo": "", "publish": "[--members FILE]",
}

const keysUsage = `usage: passerelle keys <verb> --data DIR [flags]

verbs:
  gen      --member ID [--alg EdDSA|ES256]   first signing key of a member
  rotate   --member ID [--alg EdDSA|ES256]   new current key; old ones stay published
  jwks     --member ID                       print the member's public JWKS
  pseudo                                     create the missing pseudonym keys
  publish  [--members FILE]                  sign a new serial of the member registry
                                             (FILE defaults to DIR/trust/members.src.yaml)`

func runKeys(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(e.stderr, keysUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	verb := args[0]
	synopsis, ok := keysVerbs[verb]
	if !ok {
		fmt.Fprintf(e.stderr, "unknown keys verb %q\n%s\n", verb, keysUsage)
		return errUsage
	}
	// Each verb shows the flags it takes, and only those.
	fs := newFlags(e, "keys "+verb, strings.TrimSpace("keys "+verb+" [--data DIR] "+synopsis))
	data := fs.String("data", ".passerelle-demo", "data directory holding the keys and the member registry")
	var member, alg, members *string
	if verb == "gen" || verb == "rotate" || verb == "jwks" {
		member = fs.String("member", "", "member id (required)")
	}
	if verb == "gen" || verb == "rotate" {
		alg = fs.String("alg", seal.EdDSA, "signature algorithm: EdDSA or ES256")
	}
	if verb == "publish" {
		members = fs.String("members", "", "member specs file (default DIR/trust/members.src.yaml)")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	d := datadir.Dir(*data)
	needMember := func() error {
		if *member == "" {
			fmt.Fprintln(e.stderr, "--member is required")
			return errUsage
		}
		return nil
	}
	switch verb {
	case "gen", "rotate":
		if err := needMember(); err != nil {
			return err
		}
		_, err := d.Keys().Current(*member)
		switch {
		case verb == "gen" && err == nil:
			return fmt.Errorf("%s already has a key: use passerelle keys rotate", *member)
		case verb == "rotate" && err != nil:
			return err
		}
		k, err := d.Keys().Generate(*member, *alg)
		if err != nil {
			return err
		}
		kid, _ := k.KeyID()
		fmt.Fprintf(e.stdout, "%s: new current key %s (%s); run passerelle keys publish to make it known\n", *member, kid, *alg)
	case "jwks":
		if err := needMember(); err != nil {
			return err
		}
		set, err := d.Keys().PublicSet(*member)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(set)
	case "pseudo":
		kr := pseudo.NewFileKeyring(d.Pseudo())
		if err := kr.Ensure(pseudo.KeyNames(domains.Names())...); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "pseudonym keys ready in %s\n", d.Pseudo())
	case "publish":
		if *members == "" {
			*members = d.MemberSpecs()
		}
		serial, err := publishRegistry(ctx, d, *members, time.Now(), nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "member registry serial %d signed: %s\n", serial, d.MembersDoc())
	}
	return nil
}

// publishRegistry signs the next serial of the registry from a specs file,
// creating the governance key on first use. keysOf returns a member's
// public keys; nil reads them from the key files of d (a member whose keys
// are in Vault has its public set from seal.VaultPublicSet instead).
func publishRegistry(ctx context.Context, d datadir.Dir, specsFile string, now time.Time, keysOf func(member string) (jwk.Set, error)) (int64, error) {
	if keysOf == nil {
		keysOf = d.Keys().PublicSet
	}
	raw, err := os.ReadFile(specsFile)
	if err != nil {
		return 0, fmt.Errorf("member specs: %w", err)
	}
	var specs []trust.MemberSpec
	if err := yaml.Unmarshal(raw, &specs); err != nil {
		return 0, fmt.Errorf("member specs %s: %w", specsFile, err)
	}
	gov, err := d.Keys().Current(datadir.GovernanceOwner)
	if errors.Is(err, keyfile.ErrNoKey) {
		gov, err = d.Keys().Generate(datadir.GovernanceOwner, seal.EdDSA)
	}
	if err != nil {
		return 0, err
	}
	signer, err := seal.NewKeySigner(gov)
	if err != nil {
		return 0, err
	}
	serial := int64(1)
	if prev, err := os.ReadFile(d.MembersDoc()); err == nil {
		var head struct {
			Serial int64 `yaml:"serial"`
		}
		if err := yaml.Unmarshal(prev, &head); err == nil {
			serial = head.Serial + 1
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	doc, err := trust.Build(serial, now, specs, keysOf)
	if err != nil {
		return 0, err
	}
	sig, err := trust.SignDocument(ctx, doc, signer)
	if err != nil {
		return 0, err
	}
	pub, err := gov.PublicKey()
	if err != nil {
		return 0, err
	}
	pubJSON, _ := json.Marshal(pub)
	if err := os.MkdirAll(filepath.Dir(d.MembersDoc()), 0o755); err != nil {
		return 0, err
	}
	// The signature first: a reader that sees the new document with the
	// old signature refuses it and keeps the registry it has.
	for _, f := range []struct {
		path string
		b    []byte
	}{{d.GovernancePublic(), pubJSON}, {d.MembersSig(), sig}, {d.MembersDoc(), doc}} {
		if err := os.WriteFile(f.path, f.b, 0o644); err != nil {
			return 0, err
		}
	}
	return serial, nil
}
