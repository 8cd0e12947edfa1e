package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/passerelle-bus/passerelle/internal/seal"
	"github.com/passerelle-bus/passerelle/internal/trust"
)

// Checkpoint is a signed statement of the tree's size and root, in the
// C2SP signed-note checkpoint format ("<origin>\n<size>\n<base64 root>\n"
// and signature lines), which witnesses and auditors keep. The origin is
// the topic's name: a checkpoint of one log never passes for another's.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

// Sign returns the signed note of c.
func (c Checkpoint) Sign(s note.Signer) ([]byte, error) {
	text := fmt.Sprintf("%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
	return note.Sign(&note.Note{Text: text}, s)
}

// OpenCheckpoint verifies a signed checkpoint with any of the known keys
// and parses it; an error wraps ErrCheckpoint.
func OpenCheckpoint(signed []byte, known note.Verifiers) (Checkpoint, error) {
	c, _, err := openCheckpoint(signed, known)
	return c, err
}

// OpenGatewayCheckpoint is OpenCheckpoint with the keys of the registry's
// gateways, and also names the member whose key signed.
func OpenGatewayCheckpoint(signed []byte, reg *trust.Registry) (Checkpoint, string, error) {
	known, names := GatewayVerifiers(reg)
	c, hash, err := openCheckpoint(signed, known)
	return c, names[hash], err
}

// openCheckpoint also returns the hash of the key that verified it.
func openCheckpoint(signed []byte, known note.Verifiers) (Checkpoint, uint32, error) {
	n, err := note.Open(signed, known)
	if err != nil {
		return Checkpoint{}, 0, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		return Checkpoint{}, 0, fmt.Errorf("%w: %d lines", ErrCheckpoint, len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return Checkpoint{}, 0, fmt.Errorf("%w: size %q", ErrCheckpoint, lines[1])
	}
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != len(tlog.Hash{}) {
		return Checkpoint{}, 0, fmt.Errorf("%w: root %q", ErrCheckpoint, lines[2])
	}
	c := Checkpoint{Origin: lines[0], Size: size}
	copy(c.Root[:], root)
	return c, n.Sigs[0].Hash, nil
}

// signTimeout bounds one checkpoint signature: note.Signer has no context,
// and a Vault that hangs must not hang the publisher.
const signTimeout = 10 * time.Second

// noteSigner signs notes with a member key, which may live in Vault:
// C2SP notes are Ed25519 signatures over the note text, which is what
// an EdDSA seal.Signer makes of its input.
type noteSigner struct {
	name string
	hash uint32
	s    seal.Signer
}

// NewNoteSigner signs checkpoints as member name with s, whose public key
// is pub; the key must be Ed25519, the one algorithm of signed notes.
func NewNoteSigner(name string, s seal.Signer, pub ed25519.PublicKey) (note.Signer, error) {
	if s.Algorithm() != seal.EdDSA {
		return nil, fmt.Errorf("checkpoint key of %s is %s: signed notes need an Ed25519 (EdDSA) key", name, s.Algorithm())
	}
	v, err := noteVerifier(name, pub)
	if err != nil {
		return nil, err
	}
	return &noteSigner{name: name, hash: v.KeyHash(), s: s}, nil
}

// noteVerifier is the signed-note verifier of an Ed25519 key named name.
func noteVerifier(name string, pub ed25519.PublicKey) (note.Verifier, error) {
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return nil, err
	}
	return note.NewVerifier(vkey)
}

// GatewayNoteSigner is NewNoteSigner for a gateway's member key, named
// by its member id, its public half looked up in the registry.
func GatewayNoteSigner(s seal.Signer, registry *trust.Store) (note.Signer, error) {
	k, err := registry.SigningKey(s.KeyID())
	if err != nil {
		return nil, fmt.Errorf("checkpoint key: %w", err)
	}
	pub, ok := k.Public.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("checkpoint key of %s is %s: signed notes need an Ed25519 (EdDSA) key", k.Member, k.Alg)
	}
	return NewNoteSigner(k.Member, s, pub)
}

func (n *noteSigner) Name() string    { return n.name }
func (n *noteSigner) KeyHash() uint32 { return n.hash }
func (n *noteSigner) Sign(msg []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), signTimeout)
	defer cancel()
	sigs, err := n.s.Sign(ctx, [][]byte{msg})
	if err != nil {
		return nil, err
	}
	return sigs[0], nil
}

// NoteVerifiers are the note verifiers of a member's Ed25519 keys that the
// registry still accepts, named by the member id.
func NoteVerifiers(reg *trust.Registry, m *trust.Member) []note.Verifier {
	var out []note.Verifier
	set := m.JWKS()
	for i := range set.Len() {
		jk, _ := set.Key(i)
		kid, _ := jk.KeyID()
		k, err := reg.SigningKey(kid)
		if err != nil {
			continue
		}
		pub, ok := k.Public.(ed25519.PublicKey)
		if !ok {
			continue
		}
		if v, err := noteVerifier(m.ID, pub); err == nil {
			out = append(out, v)
		}
	}
	return out
}

var _ note.Signer = (*noteSigner)(nil)

// GatewayVerifiers are the Ed25519 keys of the registry's gateways, by
// note key name = member id, and the member of each key hash: the keys a
// checkpoint may be signed with.
func GatewayVerifiers(reg *trust.Registry) (note.Verifiers, map[uint32]string) {
	var vs []note.Verifier
	names := map[uint32]string{}
	for _, m := range reg.Members() {
		if !m.Has(trust.RoleGateway) {
			continue
		}
		for _, v := range NoteVerifiers(reg, m) {
			vs = append(vs, v)
			names[v.KeyHash()] = m.ID
		}
	}
	return note.VerifierList(vs...), names
}
