package config

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"gopkg.in/yaml.v3"
)

// redacted is what a set Secret shows wherever it is printed, logged or
// marshalled. Marshalled back into a file, it is a literal: Decode refuses
// it rather than take the mask for the secret.
const redacted = "[redacted]"

// Secret is a configuration value that is never written in clear in a
// configuration file: a password, a token, a private key. In YAML it is
// one of
//
//	password: ${KAFKA_PASSWORD}            # exactly one variable, no default
//	password: file:/run/secrets/kafka      # a file of mode 0600 or 0400
//
// and Decode refuses anything else with an error naming the field (see
// resolveSecret). An empty value or a null leaves it unset; the owning
// section's Validate says whether it is required. Code builds one with
// [SecretValue].
//
// A Secret prints, logs and marshals as [redacted], so that a configuration
// can be logged whole.
type Secret struct {
	// text is behind a pointer so that fmt, reaching a Secret through an
	// unexported field where it may not call Format, prints an address
	// rather than the secret.
	text *string
	// decoded is set by UnmarshalYAML, which sees the value after
	// expansion and cannot tell ${VAR} from a literal: Decode reads the
	// field again as written. A Secret Decode could not find as written is
	// an error, not an empty secret.
	decoded bool
}

// SecretValue is a Secret given by code (a test, a flag, a value read from
// elsewhere); "" is no secret.
func SecretValue(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{text: &s}
}

// Value is the secret itself, for the one call that needs it.
func (s Secret) Value() string {
	if s.text == nil {
		return ""
	}
	return *s.text
}

// IsZero reports that no secret is set; yaml's omitempty uses it too.
func (s Secret) IsZero() bool { return s.text == nil }

// String is [redacted], or "" when no secret is set: whether a password is
// configured is worth seeing, the password is not.
func (s Secret) String() string {
	if s.IsZero() {
		return ""
	}
	return redacted
}

// Format redacts under every verb, %#v and %x included.
func (s Secret) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, fmt.FormatString(f, verb), s.String())
}

// LogValue redacts in slog, whatever the handler.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts for encoders that use text (encoding/json map keys,
// TOML, env).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalJSON redacts in JSON.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML redacts in YAML.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// UnmarshalYAML only marks the field: the node it is given has been
// expanded already, so Decode reads the secret from the document as
// written (resolveSecrets). yaml.Unmarshal alone leaves a Secret unset.
func (s *Secret) UnmarshalYAML(*yaml.Node) error {
	*s = Secret{decoded: true}
	return nil
}
