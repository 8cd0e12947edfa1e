// Package transit talks to HashiCorp Vault's Transit secrets engine: keys
// that never leave Vault, used to sign records and to compute pseudonyms.
// Every operation on many inputs is one round trip (batch_input).
package transit

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/passerelle-bus/passerelle/internal/config"
)

// Key types, as Transit names them.
const (
	Ed25519   = "ed25519"
	ECDSAP256 = "ecdsa-p256"
	HMACKey   = "hmac"
	AES256GCM = "aes256-gcm96"
)

// DefaultMount is where the Transit engine is mounted unless Config.Mount
// says otherwise; the policies of deploy/vault are written for it.
const DefaultMount = "transit"

// The API paths of the operations Passerelle uses, below the mount. The
// client calls exactly these and the policies grant exactly these
// (internal/memberkeys): written once, so the two cannot drift.

// KeyPath reads a key's versions and public keys, or creates the key.
func KeyPath(mount, name string) string { return mount + "/keys/" + name }

// SignPath signs with key name.
func SignPath(mount, name string) string { return mount + "/sign/" + name }

// HMACPath computes HMAC-SHA256 under key name.
func HMACPath(mount, name string) string { return mount + "/hmac/" + name + "/sha2-256" }

// EncryptPath encrypts with key name; DecryptPath decrypts.
func EncryptPath(mount, name string) string { return mount + "/encrypt/" + name }

// DecryptPath decrypts with key name.
func DecryptPath(mount, name string) string { return mount + "/decrypt/" + name }

// ConfigPath sets a key's minimum decryption version; TrimPath deletes the
// versions below its minimum available one.
func ConfigPath(mount, name string) string { return KeyPath(mount, name) + "/config" }

// TrimPath deletes a key's versions below min_available_version.
func TrimPath(mount, name string) string { return KeyPath(mount, name) + "/trim" }

// ErrVault wraps every failure of a Vault call; the message says which.
var ErrVault = errors.New("vault transit")

// Config locates Vault.
type Config struct {
	Address string `yaml:"address"`
	// Token is ${VAR} or file:PATH in a file, never written in clear.
	Token config.Secret `yaml:"token"`
	// Mount is the Transit engine's path, "transit" by default.
	Mount   string        `yaml:"mount"`
	Timeout time.Duration `yaml:"timeout"`
}

// Client is a Transit client.
type Client struct {
	v     *vault.Client
	http  *http.Client // v's, kept to release its connections
	mount string
}

// New returns a client; it does not contact Vault.
func New(cfg Config) (*Client, error) {
	if cfg.Address == "" {
		return nil, fmt.Errorf("%w: address: required", ErrVault)
	}
	vc := vault.DefaultConfig()
	vc.Address = cfg.Address
	if cfg.Timeout > 0 {
		vc.Timeout = cfg.Timeout
	}
	v, err := vault.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrVault, err)
	}
	v.SetToken(cfg.Token.Value())
	mount := cfg.Mount
	if mount == "" {
		mount = DefaultMount
	}
	return &Client{v: v, http: vc.HttpClient, mount: mount}, nil
}

// Close releases the connections kept open to Vault between calls, which
// would otherwise outlive the component that used them; a later call
// opens new ones.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// EnsureKey creates key name of keyType unless it exists.
func (c *Client) EnsureKey(ctx context.Context, name, keyType string) error {
	body := map[string]any{"type": keyType}
	if keyType == HMACKey {
		body["key_size"] = 32
	}
	if _, err := c.v.Logical().WriteWithContext(ctx, KeyPath(c.mount, name), body); err != nil {
		return fmt.Errorf("%w: create key %s: %w", ErrVault, name, err)
	}
	return nil
}

// Rotate adds a new version to key name; signing then uses it by default.
func (c *Client) Rotate(ctx context.Context, name string) error {
	if _, err := c.v.Logical().WriteWithContext(ctx, KeyPath(c.mount, name)+"/rotate", nil); err != nil {
		return fmt.Errorf("%w: rotate key %s: %w", ErrVault, name, err)
	}
	return nil
}

// PublicKeys returns the public key of every version of an asymmetric key,
// and the latest version number.
func (c *Client) PublicKeys(ctx context.Context, name string) (map[int]crypto.PublicKey, int, error) {
	s, err := c.v.Logical().ReadWithContext(ctx, KeyPath(c.mount, name))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: read key %s: %w", ErrVault, name, err)
	}
	if s == nil {
		return nil, 0, fmt.Errorf("%w: key %s does not exist", ErrVault, name)
	}
	var info struct {
		Type   string `json:"type"`
		Latest int    `json:"latest_version"`
		Keys   map[string]struct {
			PublicKey string `json:"public_key"`
		} `json:"keys"`
	}
	if err := remarshal(s.Data, &info); err != nil {
		return nil, 0, fmt.Errorf("%w: key %s: %w", ErrVault, name, err)
	}
	out := map[int]crypto.PublicKey{}
	for ver, k := range info.Keys {
		n, err := strconv.Atoi(ver)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: key %s: version %q", ErrVault, name, ver)
		}
		pub, err := parsePublic(info.Type, k.PublicKey)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: key %s version %d: %w", ErrVault, name, n, err)
		}
		out[n] = pub
	}
	return out, info.Latest, nil
}

func parsePublic(keyType, s string) (crypto.PublicKey, error) {
	switch keyType {
	case Ed25519:
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("bad ed25519 public key")
		}
		return ed25519.PublicKey(b), nil
	case ECDSAP256:
		blk, _ := pem.Decode([]byte(s))
		if blk == nil {
			return nil, fmt.Errorf("bad PEM public key")
		}
		return x509.ParsePKIXPublicKey(blk.Bytes)
	}
	return nil, fmt.Errorf("key type %q has no public key we use", keyType)
}

// Sign signs every input with version ver of key name in one call. ECDSA
// signatures come back as JWS wants them (r‖s), not ASN.1.
func (c *Client) Sign(ctx context.Context, name string, ver int, keyType string, inputs [][]byte) ([][]byte, error) {
	body := map[string]any{"batch_input": batch(inputs), "key_version": ver}
	if keyType == ECDSAP256 {
		body["hash_algorithm"] = "sha2-256"
		body["marshaling_algorithm"] = "jws"
	}
	return c.batchCall(ctx, SignPath(c.mount, name), body, "signature", len(inputs))
}

// HMAC computes HMAC-SHA256 of every input under version ver of key name.
func (c *Client) HMAC(ctx context.Context, name string, ver int, inputs [][]byte) ([][]byte, error) {
	body := map[string]any{"batch_input": batch(inputs), "key_version": ver}
	return c.batchCall(ctx, HMACPath(c.mount, name), body, "hmac", len(inputs))
}

// Encrypt encrypts plaintext under the latest version of AEAD key name,
// authenticating aad with it; the ciphertext is Transit's
// "vault:v<N>:<base64>", which names the version.
func (c *Client) Encrypt(ctx context.Context, name string, plaintext, aad []byte) (string, error) {
	s, err := c.v.Logical().WriteWithContext(ctx, EncryptPath(c.mount, name), map[string]any{
		"plaintext": base64.StdEncoding.EncodeToString(plaintext), "associated_data": base64.StdEncoding.EncodeToString(aad)})
	if err != nil {
		return "", fmt.Errorf("%w: encrypt with %s: %w", ErrVault, name, err)
	}
	ct, _ := dataString(s, "ciphertext")
	if !strings.HasPrefix(ct, "vault:v") {
		return "", fmt.Errorf("%w: encrypt with %s: no ciphertext in the answer", ErrVault, name)
	}
	return ct, nil
}

// Decrypt reverses Encrypt; Vault refuses a ciphertext whose version has
// been trimmed or is below the key's minimum decryption version.
func (c *Client) Decrypt(ctx context.Context, name, ciphertext string, aad []byte) ([]byte, error) {
	s, err := c.v.Logical().WriteWithContext(ctx, DecryptPath(c.mount, name), map[string]any{
		"ciphertext": ciphertext, "associated_data": base64.StdEncoding.EncodeToString(aad)})
	if err != nil {
		return nil, fmt.Errorf("%w: decrypt with %s: %w", ErrVault, name, err)
	}
	pt, ok := dataString(s, "plaintext")
	if !ok {
		return nil, fmt.Errorf("%w: decrypt with %s: no plaintext in the answer", ErrVault, name)
	}
	b, err := base64.StdEncoding.DecodeString(pt)
	if err != nil {
		return nil, fmt.Errorf("%w: decrypt with %s: %w", ErrVault, name, err)
	}
	return b, nil
}

// LatestVersion returns the latest version of key name.
func (c *Client) LatestVersion(ctx context.Context, name string) (int, error) {
	s, err := c.v.Logical().ReadWithContext(ctx, KeyPath(c.mount, name))
	if err != nil {
		return 0, fmt.Errorf("%w: read key %s: %w", ErrVault, name, err)
	}
	if s == nil {
		return 0, fmt.Errorf("%w: key %s does not exist", ErrVault, name)
	}
	n, err := jsonInt(s.Data["latest_version"])
	if err != nil {
		return 0, fmt.Errorf("%w: key %s: latest_version: %w", ErrVault, name, err)
	}
	return n, nil
}

// Retire destroys every version of key name below version: what they
// encrypted can never be decrypted again, by anyone, from any copy.
func (c *Client) Retire(ctx context.Context, name string, version int) error {
	if _, err := c.v.Logical().WriteWithContext(ctx, ConfigPath(c.mount, name), map[string]any{
		"min_decryption_version": version, "min_encryption_version": version}); err != nil {
		return fmt.Errorf("%w: raise the minimum version of %s to %d: %w", ErrVault, name, version, err)
	}
	if _, err := c.v.Logical().WriteWithContext(ctx, TrimPath(c.mount, name), map[string]any{
		"min_available_version": version}); err != nil {
		return fmt.Errorf("%w: trim %s below version %d: %w", ErrVault, name, version, err)
	}
	return nil
}

func dataString(s *vault.Secret, key string) (string, bool) {
	if s == nil {
		return "", false
	}
	v, ok := s.Data[key].(string)
	return v, ok
}

func jsonInt(v any) (int, error) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return int(i), err
	case float64:
		return int(n), nil
	}
	return 0, fmt.Errorf("not a number: %v", v)
}

func batch(inputs [][]byte) []map[string]string {
	out := make([]map[string]string, len(inputs))
	for i, in := range inputs {
		out[i] = map[string]string{"input": base64.StdEncoding.EncodeToString(in)}
	}
	return out
}

func (c *Client) batchCall(ctx context.Context, path string, body map[string]any, field string, n int) ([][]byte, error) {
	s, err := c.v.Logical().WriteWithContext(ctx, path, body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrVault, path, err)
	}
	if s == nil {
		return nil, fmt.Errorf("%w: %s: empty answer", ErrVault, path)
	}
	var res struct {
		Results []struct {
			Signature string `json:"signature"`
			HMAC      string `json:"hmac"`
			Error     string `json:"error"`
		} `json:"batch_results"`
	}
	if err := remarshal(s.Data, &res); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrVault, path, err)
	}
	if len(res.Results) != n {
		return nil, fmt.Errorf("%w: %s: %d results for %d inputs", ErrVault, path, len(res.Results), n)
	}
	outs := make([][]byte, n)
	for i, r := range res.Results {
		if r.Error != "" {
			return nil, fmt.Errorf("%w: %s: input %d: %s", ErrVault, path, i, r.Error)
		}
		out := r.Signature
		if field == "hmac" {
			out = r.HMAC
		}
		b, err := unwrap(out)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: input %d: %w", ErrVault, path, i, err)
		}
		outs[i] = b
	}
	return outs, nil
}

// unwrap decodes Transit's "vault:v<N>:<base64>" outputs. JWS-marshalled
// signatures use the URL alphabet, the rest the standard one.
func unwrap(s string) ([]byte, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 || parts[0] != "vault" {
		return nil, fmt.Errorf("unexpected output %q", s)
	}
	if b, err := base64.StdEncoding.DecodeString(parts[2]); err == nil {
		return b, nil
	}
	return base64.RawURLEncoding.DecodeString(parts[2])
}

func remarshal(in map[string]any, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
