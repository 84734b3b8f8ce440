package registry

import "time"

// PutRaw stores value under key in m's store, as a program of another
// version or a broken one would, for the conformance suite.
func PutRaw(m *Memory, key string, value []byte) {
	m.store.put(key, value, time.Now().Add(m.cfg.TTL))
}
