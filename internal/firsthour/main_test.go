package firsthour

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine outlives them: a part
// started and never stopped, a follower left following.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
