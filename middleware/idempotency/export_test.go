package idempotency

import "time"

// SetClock makes s read the time from now, for tests of expiry.
func SetClock(s *MemoryStore, now func() time.Time) { s.now = now }
