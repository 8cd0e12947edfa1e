package pseudo

import (
	"errors"
	"fmt"
	"strconv"
)

// NIR errors. The messages never repeat the NIR: it is personal data and
// errors end up in logs.
var (
	// ErrNIRFormat: not 15 characters of the NIR's shape.
	ErrNIRFormat = errors.New("malformed NIR")
	// ErrNIRKey: well formed, but the 2-digit key does not match.
	ErrNIRKey = errors.New("NIR key does not match")
)

// ValidateNIR checks a French social-security number (NIR): 13 characters
// then a 2-digit key equal to 97 − (number mod 97).
func ValidateNIR(nir string) error {
	if len(nir) != 15 {
		return fmt.Errorf("%w: %d characters, want 15", ErrNIRFormat, len(nir))
	}
	want, err := NIRKey(nir[:13])
	if err != nil {
		return err
	}
	key, err := strconv.Atoi(nir[13:])
	if err != nil || nir[13] < '0' || nir[13] > '9' || nir[14] < '0' || nir[14] > '9' {
		return fmt.Errorf("%w: key is not 2 digits", ErrNIRFormat)
	}
	if key != want {
		return ErrNIRKey
	}
	return nil
}

// NIRKey computes the key of a 13-character NIR body. Corsica's departments
// 2A and 2B, in positions 6–7, count as 19 and 18.
func NIRKey(body string) (int, error) {
	if len(body) != 13 {
		return 0, fmt.Errorf("%w: body of %d characters, want 13", ErrNIRFormat, len(body))
	}
	b := []byte(body)
	switch body[5:7] {
	case "2A":
		b[5], b[6] = '1', '9'
	case "2B":
		b[5], b[6] = '1', '8'
	}
	for i, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: character %d is not a digit", ErrNIRFormat, i+1)
		}
	}
	switch b[0] {
	case '1', '2', '3', '4', '7', '8':
	default:
		return 0, fmt.Errorf("%w: first digit (sex) must be 1, 2, 3, 4, 7 or 8", ErrNIRFormat)
	}
	n, _ := strconv.ParseUint(string(b), 10, 64) // 13 digits always fit
	return 97 - int(n%97), nil
}
