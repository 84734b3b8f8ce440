package store_test

import (
	"testing"

	"go.uber.org/goleak"
)

// No test leaves a goroutine behind: a closed store stops its sweeper and
// its watches.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
