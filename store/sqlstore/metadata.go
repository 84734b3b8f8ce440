package sqlstore

import (
	"encoding/binary"
	"errors"
	"maps"
	"slices"
)

// Metadata is stored as bytes (BLOB, BYTEA), so that any string pairs
// survive exactly (PostgreSQL's text refuses NUL and invalid UTF-8): the
// number of pairs, then each key and value, sorted by key, every count
// and length an unsigned varint. No metadata is NULL.

// encodeMetadata returns the stored form of md, or nil for none.
func encodeMetadata(md map[string]string) []byte {
	if len(md) == 0 {
		return nil
	}
	n := binary.MaxVarintLen64
	for k, v := range md {
		n += 2*binary.MaxVarintLen64 + len(k) + len(v)
	}
	b := make([]byte, 0, n)
	b = binary.AppendUvarint(b, uint64(len(md)))
	for _, k := range slices.Sorted(maps.Keys(md)) {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(md[k])))
		b = append(b, md[k]...)
	}
	return b
}

var errMetadata = errors.New("sqlstore: stored metadata is malformed")

// decodeMetadata returns the metadata of its stored form, nil for none.
func decodeMetadata(b []byte) (map[string]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)) {
		return nil, errMetadata
	}
	b = b[w:]
	md := make(map[string]string, n)
	for range n {
		var k, v string
		var ok bool
		if k, b, ok = cutString(b); !ok {
			return nil, errMetadata
		}
		if v, b, ok = cutString(b); !ok {
			return nil, errMetadata
		}
		md[k] = v
	}
	if len(b) != 0 {
		return nil, errMetadata
	}
	return md, nil
}

// cutString reads a length and that many bytes from b.
func cutString(b []byte) (string, []byte, bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return "", nil, false
	}
	return string(b[w : w+int(n)]), b[w+int(n):], true
}
