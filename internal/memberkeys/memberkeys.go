// Package memberkeys opens a member's secret keys — its signing key and the
// pseudonym keyring, which also derives the link keys — from key files in
// its data directory or, when a vault section is configured, from Vault
// Transit only. Connectors and the gateway both open theirs here: one
// configuration, one way to name Transit keys, the one the policies of
// deploy/vault are generated for (policy.go).
package memberkeys

import (
	"context"
	"errors"
	"fmt"

	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/kek"
	"github.com/passerelle-bus/passerelle/internal/pseudo"
	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/transit"
)

// Default Transit key names. A member's signing key is
// DefaultSignPrefix+<member id>; the pseudonym keys are
// DefaultPseudoPrefix+<keyring name> (pseudo.KeyNames), shared by the
// connectors and the gateway, which must compute the same pseudonyms.
const (
	DefaultSignPrefix   = "passerelle-sign-"
	DefaultPseudoPrefix = "passerelle-pseudo-"
)

// SignKeyName is the default Transit signing key of member.
func SignKeyName(member string) string { return DefaultSignPrefix + member }

// Vault moves a member's keys into Vault Transit: with it, no key is read
// from a file.
type Vault struct {
	transit.Config `yaml:",inline"`
	// SignKey is the member's Transit signing key (ed25519 for a gateway,
	// whose checkpoints are signed notes); SignKeyName(member) if empty.
	SignKey string `yaml:"sign_key"`
	// PseudoPrefix prefixes the Transit HMAC keys of the pseudonyms;
	// DefaultPseudoPrefix if empty.
	PseudoPrefix string `yaml:"pseudo_prefix"`
}

// Validate names the first invalid field, prefixed "vault.".
func (v *Vault) Validate() error {
	switch {
	case v.Address == "":
		return errors.New("vault.address: required")
	case v.Token.IsZero():
		return errors.New("vault.token: required (the member's token, its policy from deploy/vault)")
	case v.Timeout < 0:
		return errors.New("vault.timeout: must be positive")
	}
	return nil
}

// signKey is the Transit key member signs with.
func (v *Vault) signKey(member string) string {
	if v.SignKey != "" {
		return v.SignKey
	}
	return SignKeyName(member)
}

func (v *Vault) pseudoPrefix() string {
	if v.PseudoPrefix != "" {
		return v.PseudoPrefix
	}
	return DefaultPseudoPrefix
}

// Keys are a member's open keys.
type Keys struct {
	// Signer signs as the member: its records, or a gateway's audit
	// events, checkpoints and consent events.
	Signer seal.Signer
	// Keyring computes the pseudonyms and derives the link keys.
	Keyring pseudo.Keyring
	vault   *transit.Client // nil with key files
}

// Close releases the connections to Vault, once the keys' last user has
// stopped.
func (k *Keys) Close() {
	if k.vault != nil {
		k.vault.Close()
	}
}

// Open returns member's keys: from Vault when v is set (the private and
// HMAC keys never leave it: a signature or a batch of HMACs is one round
// trip), from the data directory otherwise.
func Open(ctx context.Context, v *Vault, data datadir.Dir, member string) (*Keys, error) {
	if v == nil {
		signer, err := data.Keys().Signer(member)
		if err != nil {
			return nil, err
		}
		return &Keys{Signer: signer, Keyring: pseudo.NewFileKeyring(data.Pseudo())}, nil
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	t, err := transit.New(v.Config)
	if err != nil {
		return nil, err
	}
	signer, err := seal.NewVaultSigner(ctx, t, v.signKey(member))
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("signing key of %s: %w", member, err)
	}
	return &Keys{Signer: signer, Keyring: pseudo.NewVaultKeyring(t, v.pseudoPrefix()), vault: t}, nil
}

// Provision creates, unless they exist, the Transit keys of a deployment
// with the default names: an Ed25519 signing key per member (the one
// algorithm of the gateway's signed checkpoints), every pseudonym key of
// domainNames and each domain's KEK. It takes an operator's token: no
// member policy may create keys.
func Provision(ctx context.Context, t *transit.Client, members, domainNames []string) error {
	for _, m := range members {
		if err := t.EnsureKey(ctx, SignKeyName(m), transit.Ed25519); err != nil {
			return err
		}
	}
	if err := kek.NewVault(t).Ensure(ctx, domainNames...); err != nil {
		return err
	}
	return pseudo.NewVaultKeyring(t, DefaultPseudoPrefix).Ensure(ctx, pseudo.KeyNames(domainNames)...)
}

// OpenKEK opens the KEKs of personal data (internal/kek): in Vault
// Transit with v, else in the data directory's key files. close releases
// the Vault client.
func OpenKEK(v *Vault, data datadir.Dir) (k kek.KEK, close func(), err error) {
	if v == nil {
		return kek.NewFiles(data.KEK()), func() {}, nil
	}
	c, err := transit.New(v.Config)
	if err != nil {
		return nil, nil, err
	}
	return kek.NewVault(c), c.Close, nil
}
