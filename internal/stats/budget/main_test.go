package budget_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine outlives them: a
// ledger's follower left following.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
