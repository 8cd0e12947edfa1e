package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"gopkg.in/yaml.v3"
)

// Why a written secret is refused; Decode puts the field's path before.
var (
	ErrSecretLiteral = errors.New("a secret must be ${VAR} or file:PATH (a file of mode 0600 or 0400), not a literal")
	// ErrSecretDefault: a default is text in the file, so ${VAR:hunter2}
	// is a secret in clear, and ${VAR:} an empty one that is better
	// written by leaving the field out.
	ErrSecretDefault = errors.New("a secret's ${VAR} takes no default: ${VAR:...} writes the secret, or an empty one, in the file")
	// ErrSecretFileMode: the file's target, a symlink followed, must give
	// its group and others no access at all (chmod 600 or 400).
	ErrSecretFileMode = errors.New("a secret file must give group and others no access (mode 0600 or 0400)")
)

// filePrefix introduces a secret read from a file.
const filePrefix = "file:"

// maxSecretFile bounds what a secret file may hold: a key or a token is a
// few kilobytes, and a path to a log file by mistake should not be read.
const maxSecretFile = 1 << 20

// secretForm is how a secret is written: the variable of ${VAR}, or the
// path of file:PATH (itself with ${VAR:default} expanded, since a path is
// no secret), or neither when the value is empty.
type secretForm struct{ env, file string }

// parseSecret reads a secret as written in the file, before expansion.
func parseSecret(text string) (secretForm, error) {
	if text == "" {
		return secretForm{}, nil
	}
	if path, ok := strings.CutPrefix(text, filePrefix); ok {
		if strings.TrimSpace(path) == "" {
			return secretForm{}, fmt.Errorf("file: the path is empty")
		}
		return secretForm{file: path}, nil
	}
	m := ref.FindStringSubmatch(text)
	switch {
	case m == nil || len(m[0]) != len(text):
		return secretForm{}, ErrSecretLiteral
	case len(m[0]) > len(m[1])+3: // ${NAME:...}
		return secretForm{}, ErrSecretDefault
	}
	return secretForm{env: m[1]}, nil
}

// resolveSecret turns the node written for a secret into its value.
func resolveSecret(n *yaml.Node) (Secret, error) {
	if n.Kind != yaml.ScalarNode {
		return Secret{}, ErrSecretLiteral
	}
	if n.ShortTag() == "!!null" {
		return Secret{}, nil
	}
	form, err := parseSecret(n.Value)
	switch {
	case err != nil:
		return Secret{}, err
	case form.env != "":
		v, ok := os.LookupEnv(form.env)
		if !ok {
			return Secret{}, fmt.Errorf("environment variable %s is not set", form.env)
		}
		if v == "" {
			return Secret{}, fmt.Errorf("environment variable %s is empty", form.env)
		}
		return SecretValue(v), nil
	case form.file != "":
		path, err := ExpandValue(form.file)
		if err != nil {
			return Secret{}, fmt.Errorf("file: %w", err)
		}
		v, err := readSecretFile(path)
		return SecretValue(v), err
	}
	return Secret{}, nil
}

// readSecretFile reads a secret file, refusing one that others may read.
// The mode is that of the file opened, so a symlink (Kubernetes mounts
// secrets through two) is judged by its target, and the file checked is
// the file read. One trailing newline, which editors and echo add, is
// dropped. The file is opened non-blocking: opening a FIFO for reading
// would otherwise wait for a writer, and a configuration naming one would
// hang the process instead of being refused (regular files ignore the
// flag).
func readSecretFile(path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("read secret file %s: not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%s has mode %04o: %w", path, perm, ErrSecretFileMode)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("read secret file: %w", err)
	case len(b) > maxSecretFile:
		return "", fmt.Errorf("read secret file %s: larger than %d bytes", path, maxSecretFile)
	}
	s := string(b)
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		s, _ = strings.CutSuffix(t, "\r")
	}
	if s == "" {
		return "", fmt.Errorf("read secret file %s: empty", path)
	}
	return s, nil
}

// SecretFile reads a secret from a file named outside a configuration
// file (a command-line flag), under the same rule as file:PATH.
func SecretFile(path string) (Secret, error) {
	s, err := readSecretFile(path)
	if err != nil {
		return Secret{}, err
	}
	return SecretValue(s), nil
}

// KeyPair loads a PEM certificate and its private key as
// tls.LoadX509KeyPair does, the key under the rule of file:PATH: a TLS
// private key is a secret, and a key file its group or others may read
// is refused (ErrSecretFileMode), not used.
func KeyPair(certFile, keyFile string) (tls.Certificate, error) {
	key, err := readSecretFile(keyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	cert, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(cert, []byte(key))
}

// CertPool reads a PEM bundle of CA certificates (a ca_file, --cacert):
// a file holding none is an error, not an empty pool that would trust
// nothing and fail later, at a handshake.
func CertPool(path string) (*x509.CertPool, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(raw) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}
