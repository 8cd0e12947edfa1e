package trust

import (
	"context"
	"fmt"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/passerelle-bus/passerelle/internal/seal"
)

// SignDocument returns the detached compact JWS with which the governance
// key signs a registry document.
func SignDocument(ctx context.Context, doc []byte, governance seal.Signer) ([]byte, error) {
	sigs, err := seal.NewSealer(governance).SignEach(ctx, [][]byte{doc})
	if err != nil {
		return nil, fmt.Errorf("sign registry: %w", err)
	}
	return sigs[0], nil
}

// verifyDocument checks the governance signature with jwx's own verifier:
// the registry is read rarely and must be checked by the book.
func verifyDocument(doc, sig []byte, anchor jwk.Key) error {
	alg, ok := anchor.Algorithm()
	if !ok {
		return fmt.Errorf("%w: the governance key has no alg", ErrUnsignedRegistry)
	}
	sa, ok := jwa.LookupSignatureAlgorithm(alg.String())
	if !ok || (sa.String() != seal.EdDSA && sa.String() != seal.ES256) {
		return fmt.Errorf("%w: governance alg %s", ErrUnsignedRegistry, alg)
	}
	if _, err := jws.Verify(sig, jws.WithKey(sa, anchor), jws.WithDetachedPayload(doc)); err != nil {
		return fmt.Errorf("%w: %w", ErrUnsignedRegistry, err)
	}
	return nil
}
