package datakeys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"

	"github.com/passerelle-bus/passerelle/internal/fieldcrypt"
)

// A data key wrapped under an epoch key: nonce ‖ AES-256-GCM(key).
const wrappedSize = 12 + 32 + 16

func epochAAD(domain, epoch string) []byte {
	return []byte("passerelle-epoch/v1\x00" + domain + "\x00" + epoch)
}

func keyAAD(domain, subject, keyID string) []byte {
	return []byte("passerelle-datakey/v1\x00" + domain + "\x00" + subject + "\x00" + keyID)
}

func aead(key *[32]byte) cipher.AEAD {
	b, _ := aes.NewCipher(key[:])
	a, _ := cipher.NewGCM(b)
	return a
}

// wrap seals a data key for subject under an epoch key.
func wrap(epochKey *[32]byte, domain, subject string, dk fieldcrypt.DataKey) []byte {
	out := make([]byte, 12, wrappedSize)
	if _, err := rand.Read(out); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return aead(epochKey).Seal(out, out, dk.Key[:], keyAAD(domain, subject, hexID(dk.ID)))
}

// unwrap opens a wrapped data key.
func unwrap(epochKey *[32]byte, domain, subject, keyID string, wrapped []byte) ([32]byte, error) {
	var k [32]byte
	if len(wrapped) != wrappedSize {
		return k, fmt.Errorf("%w: wrapped key of %d bytes", ErrMalformed, len(wrapped))
	}
	pt, err := aead(epochKey).Open(nil, wrapped[:12], wrapped[12:], keyAAD(domain, subject, keyID))
	if err != nil {
		return k, fmt.Errorf("%w: key %s of %s does not open under its epoch", ErrForged, keyID, subject)
	}
	copy(k[:], pt)
	return k, nil
}
