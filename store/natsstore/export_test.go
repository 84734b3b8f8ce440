package natsstore

import "time"

// SetClock makes s's conditional writes read their time from now: a
// host's clock out of step with the server's. Call it before Start.
func SetClock(s *Store, now func() time.Time) { s.now = now }
