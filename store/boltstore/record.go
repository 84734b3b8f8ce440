package boltstore

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/wegomesh/wego/store"
)

// A record is stored as a header, the metadata and the value:
//
//	[0]      format (recordFormat)
//	[1:9]    revision, big-endian
//	[9:17]   expiry in Unix nanoseconds, big-endian; 0 means never
//	[17:25]  fence, big-endian
//	[25:29]  length of the metadata that follows, big-endian
//	metadata: pairs of uvarint length + name, uvarint length + value
//	value:   the rest
const (
	recordFormat = 1
	headerLen    = 29
	// maxMetadata is the largest encoded metadata a write accepts.
	maxMetadata = 64 << 10
)

// header is the fixed part of a stored record.
type header struct {
	rev     uint64
	expires int64 // Unix nanoseconds; 0: never
	fence   uint64
}

// expired reports whether a record with this header has expired at now
// (Unix nanoseconds).
func (h header) expired(now int64) bool { return h.expires != 0 && h.expires <= now }

var errCorrupt = errors.New("stored record is corrupt")

// decodeHeader reads the header of a stored record and returns it with
// the metadata and value bytes, which alias data.
func decodeHeader(data []byte) (h header, meta, value []byte, err error) {
	if len(data) < headerLen || data[0] != recordFormat {
		return h, nil, nil, errCorrupt
	}
	h.rev = binary.BigEndian.Uint64(data[1:])
	h.expires = int64(binary.BigEndian.Uint64(data[9:]))
	h.fence = binary.BigEndian.Uint64(data[17:])
	n := binary.BigEndian.Uint32(data[25:])
	if uint64(n) > uint64(len(data)-headerLen) {
		return h, nil, nil, errCorrupt
	}
	return h, data[headerLen : headerLen+int(n)], data[headerLen+int(n):], nil
}

// metadataLen returns the encoded length of md.
func metadataLen(md map[string]string) int {
	n := 0
	for k, v := range md {
		n += uvarintLen(len(k)) + len(k) + uvarintLen(len(v)) + len(v)
	}
	return n
}

func uvarintLen(n int) int {
	l := 1
	for n >= 0x80 {
		n >>= 7
		l++
	}
	return l
}

// encodeRecord writes the record into dst, which has exactly
// headerLen+mdLen+len(value) bytes.
func encodeRecord(dst []byte, h header, md map[string]string, mdLen int, value []byte) {
	dst[0] = recordFormat
	binary.BigEndian.PutUint64(dst[1:], h.rev)
	binary.BigEndian.PutUint64(dst[9:], uint64(h.expires))
	binary.BigEndian.PutUint64(dst[17:], h.fence)
	binary.BigEndian.PutUint32(dst[25:], uint32(mdLen))
	p := headerLen
	for k, v := range md {
		p += binary.PutUvarint(dst[p:], uint64(len(k)))
		p += copy(dst[p:], k)
		p += binary.PutUvarint(dst[p:], uint64(len(v)))
		p += copy(dst[p:], v)
	}
	copy(dst[p:], value)
}

// decodeMetadata copies encoded metadata into a new map; nil when there
// is none.
func decodeMetadata(b []byte) (map[string]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	// Count the pairs first, to size the map once.
	pairs := 0
	for p := b; len(p) > 0; pairs++ {
		for range 2 {
			n, w := binary.Uvarint(p)
			if w <= 0 || n > uint64(len(p)-w) {
				return nil, errCorrupt
			}
			p = p[w+int(n):]
		}
	}
	md := make(map[string]string, pairs)
	for len(b) > 0 {
		n, w := binary.Uvarint(b)
		k := string(b[w : w+int(n)])
		b = b[w+int(n):]
		n, w = binary.Uvarint(b)
		md[k] = string(b[w : w+int(n)])
		b = b[w+int(n):]
	}
	return md, nil
}

// decodeRecord decodes into r the record of key stored as data, copying
// what it keeps out of data (which bbolt owns), and returns its header.
// On an error r is left as it was.
func decodeRecord(r *store.Record, key string, data []byte) (header, error) {
	h, meta, value, err := decodeHeader(data)
	if err != nil {
		return h, err
	}
	md, err := decodeMetadata(meta)
	if err != nil {
		return h, err
	}
	r.Key = key
	r.Value = append(make([]byte, 0, len(value)), value...)
	r.Metadata = md
	r.Revision = h.rev
	r.Fence = h.fence
	r.Expires = time.Time{}
	if h.expires != 0 {
		r.Expires = time.Unix(0, h.expires)
	}
	return h, nil
}

// expiryKey writes the expiry index's key of a record, the expiry in
// big-endian Unix nanoseconds followed by the record's key, into dst
// (8+len(key) bytes) and returns it.
func expiryKey(dst []byte, expires int64, key string) []byte {
	binary.BigEndian.PutUint64(dst, uint64(expires))
	copy(dst[8:], key)
	return dst[:8+len(key)]
}
