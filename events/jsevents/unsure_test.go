package jsevents

import (
	"fmt"
	"testing"
)

// TestUnsureDeadLetters: a dead letter whose store returned an error is
// remembered once, forgotten when taken, and the memory is bounded.
func TestUnsureDeadLetters(t *testing.T) {
	var s subscription
	if s.takeUnsure("dlq:S:c:1") {
		t.Fatal("an id never marked is unsure")
	}
	s.markUnsure("dlq:S:c:1")
	if !s.takeUnsure("dlq:S:c:1") {
		t.Fatal("a marked id is not unsure")
	}
	if s.takeUnsure("dlq:S:c:1") {
		t.Fatal("an id taken once is still unsure")
	}
	for i := range 2 * maxUnsure {
		s.markUnsure(fmt.Sprint("dlq:S:c:", i))
	}
	if n := len(s.unsure); n != maxUnsure {
		t.Fatalf("%d ids remembered, want at most %d", n, maxUnsure)
	}
}
