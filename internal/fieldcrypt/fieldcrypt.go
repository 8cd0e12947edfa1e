// Package fieldcrypt is the envelope of a personal field encrypted on the
// log (issue 19): a field's value sealed with AES-256-GCM under the data
// key of one citizen in one domain, bound to the record it belongs to.
//
// Destroying a citizen's data key (crypto-shredding) makes every copy of
// the field unreadable at once: in the compacted topic, in backups, in a
// reader's cache. The record keeps its Avro schema and its signature,
// which covers the published bytes, so anyone can still verify a record
// without being able to read it.
//
// Envelope, version 1 (the bytes of the field's Avro value):
//
//	0x01 ‖ key id (16 bytes) ‖ nonce (12 bytes) ‖ AES-256-GCM(data key, nonce, value, AAD)
//	AAD = "passerelle-field/v1" ‖ 0x00 ‖ domain ‖ 0x00 ‖ subject ‖ 0x00 ‖ record id ‖ 0x00 ‖ field ‖ 0x00 ‖ 0x01 ‖ key id
//
// The AAD binds a ciphertext to its domain, subject, record and field, so
// one moved to another record or field does not open, and to its key id,
// so a key id swapped in the envelope does not open either, even one
// naming the same key. Unlike Confluent's client-side field-level
// encryption, whose data keys are per schema, a data key here is per
// person: that is what lets one citizen be erased.
package fieldcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
)

// Layout of a version-1 envelope.
const (
	version1  = 1
	KeyIDSize = 16
	nonceSize = 12
	tagSize   = 16
	// Overhead is what an envelope adds to the value it seals.
	Overhead = 1 + KeyIDSize + nonceSize + tagSize
)

var label = []byte("passerelle-field/v1")

var (
	// ErrMalformed: the bytes are not an envelope this package writes.
	ErrMalformed = errors.New("fieldcrypt: malformed envelope")
	// ErrShredded: the envelope's data key is gone (erased or expired):
	// the field can no longer be read by anyone, which is the point.
	ErrShredded = errors.New("fieldcrypt: data key destroyed")
	// ErrForged: the envelope does not open for this record and field:
	// moved from another, its key id swapped, or altered.
	ErrForged = errors.New("fieldcrypt: envelope does not open for this record")
)

// KeyID names a data key; it travels in clear in every envelope.
type KeyID [KeyIDSize]byte

// DataKey is one citizen's key in one domain.
type DataKey struct {
	ID  KeyID
	Key [32]byte
}

// Identity is what a field belongs to: the record's domain, subject (the
// domain pseudonym) and record id, and the field's name.
type Identity struct {
	Domain, Subject, RecordID, Field string
}

func (id Identity) aad(buf []byte, kid KeyID) []byte {
	buf = append(buf, label...)
	for _, s := range []string{id.Domain, id.Subject, id.RecordID, id.Field} {
		buf = append(append(buf, 0), s...)
	}
	buf = append(buf, 0, version1)
	return append(buf, kid[:]...)
}

// Seal returns the envelope of value under dk for id, with a nonce read
// from random (crypto/rand.Reader in production).
func Seal(dk DataKey, id Identity, value []byte, random io.Reader) ([]byte, error) {
	aead, err := gcm(dk.Key[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+KeyIDSize+nonceSize, Overhead+len(value))
	out[0] = version1
	copy(out[1:], dk.ID[:])
	nonce := out[1+KeyIDSize:]
	if _, err := io.ReadFull(random, nonce); err != nil {
		return nil, fmt.Errorf("fieldcrypt: nonce: %w", err)
	}
	return aead.Seal(out, nonce, value, id.aad(nil, dk.ID)), nil
}

// KeyOf reads an envelope's key id, to look its data key up.
func KeyOf(env []byte) (KeyID, error) {
	var kid KeyID
	if len(env) < Overhead || env[0] != version1 {
		return kid, ErrMalformed
	}
	copy(kid[:], env[1:])
	return kid, nil
}

// Open returns the value sealed in env for id. lookup gives the data key
// of a key id, or false when it has been destroyed.
func Open(env []byte, id Identity, lookup func(KeyID) ([32]byte, bool)) ([]byte, error) {
	kid, err := KeyOf(env)
	if err != nil {
		return nil, err
	}
	key, ok := lookup(kid)
	if !ok {
		return nil, ErrShredded
	}
	aead, err := gcm(key[:])
	if err != nil {
		return nil, err
	}
	nonce := env[1+KeyIDSize : 1+KeyIDSize+nonceSize]
	value, err := aead.Open(nil, nonce, env[1+KeyIDSize+nonceSize:], id.aad(nil, kid))
	if err != nil {
		return nil, ErrForged
	}
	return value, nil
}

func gcm(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("fieldcrypt: %w", err)
	}
	return cipher.NewGCM(block)
}
