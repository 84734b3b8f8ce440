package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Format is the version of the stored form of a node that this package
// writes and reads. An entry of another format — written by a newer or an
// older WeGO — is ignored (and logged once), never misread.
const Format = 1

// MaxEntrySize is the largest stored entry, in bytes, that a registry
// writes or reads: a node's JSON form with its endpoints and metadata.
const MaxEntrySize = 4096

// The limits of a node's fields, besides MaxEntrySize.
const (
	maxNameLen      = 64  // service and id
	maxVersionLen   = 64  // Node.Version
	maxEndpoints    = 8   // entries of Node.Endpoints
	maxEndpointName = 32  // a key of Node.Endpoints
	maxURLLen       = 256 // a value of Node.Endpoints
	maxMetadata     = 16  // entries of Node.Metadata
	maxMetaKeyLen   = 64  // a key of Node.Metadata
	maxMetaValueLen = 256 // a value of Node.Metadata
)

// ErrInvalidNode is wrapped by the errors of [Node.Validate], and so of
// every Register of a malformed node.
var ErrInvalidNode = errors.New("invalid node")

// Node is one running instance of a service: what a registry stores, and
// what Lookup and Watch return.
//
// The nodes a registry returns are shared: neither the slices nor the maps
// of Endpoints and Metadata may be modified (copy them first).
type Node struct {
	// Service is the name of the service the node is an instance of, such
	// as "inventory": 1 to 64 letters, digits, '_', '-' and '.', with no
	// '.' at either end or twice in a row.
	Service string `json:"service"`
	// ID tells the node apart from the other instances of its service, for
	// as long as it runs: 1 to 64 letters, digits, '_' and '-'. An
	// application registers itself under a random ID at each start.
	ID string `json:"id"`
	// Version is the version of the service the node runs, free-form
	// (printable, at most 64 bytes); empty when unknown.
	Version string `json:"version,omitempty"`
	// Endpoints are where the node is reached, by protocol: "http" maps
	// to a URL such as "http://10.0.0.5:8081", "nats" to the id of the
	// node's NATS server instance. At most 8; each name is 1 to 32
	// lowercase letters, digits, '_' and '-'; each value 1 to 256
	// printable ASCII characters without spaces, an absolute URL
	// (scheme://host...) when it has "://".
	Endpoints map[string]string `json:"endpoints,omitempty"`
	// Metadata is free information about the node, such as its zone or
	// host: at most 16 entries, keys of 1 to 64 letters, digits, '_', '-'
	// and '.', values of at most 256 bytes of printable UTF-8.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Key returns the key of a node of service with id in a registry: service
// and id joined by a dot. An ID has no dot, so the last dot of a key
// separates them.
func Key(service, id string) string { return service + "." + id }

// splitKey is the inverse of [Key].
func splitKey(key string) (service, id string, ok bool) {
	i := strings.LastIndexByte(key, '.')
	if i < 0 {
		return "", "", false
	}
	return key[:i], key[i+1:], true
}

// Validate reports whether n can be registered: every field within the
// grammar and the limits its documentation states. The error wraps
// [ErrInvalidNode] and names the field that failed.
func (n Node) Validate() error {
	if err := checkService(n.Service); err != nil {
		return err
	}
	if err := checkID(n.ID); err != nil {
		return fmt.Errorf("registry: node %s: %w", n.Service, err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("registry: node %s: %w: %s", Key(n.Service, n.ID), ErrInvalidNode, fmt.Sprintf(format, args...))
	}
	if len(n.Version) > maxVersionLen || !printable(n.Version) {
		return bad("version %.64q is not printable text of at most %d bytes", n.Version, maxVersionLen)
	}
	if len(n.Endpoints) > maxEndpoints {
		return bad("%d endpoints, at most %d", len(n.Endpoints), maxEndpoints)
	}
	for _, name := range slices.Sorted(maps.Keys(n.Endpoints)) {
		if !validName(name, maxEndpointName, isEndpointByte) {
			return bad("endpoint name %.64q is not 1 to %d lowercase letters, digits, '_' and '-'", name, maxEndpointName)
		}
		if err := checkAddress(n.Endpoints[name]); err != nil {
			return bad("endpoint %s: %v", name, err)
		}
	}
	if len(n.Metadata) > maxMetadata {
		return bad("%d metadata entries, at most %d", len(n.Metadata), maxMetadata)
	}
	for _, k := range slices.Sorted(maps.Keys(n.Metadata)) {
		if !validName(k, maxMetaKeyLen, isMetaKeyByte) {
			return bad("metadata key %.64q is not 1 to %d letters, digits, '_', '-' and '.'", k, maxMetaKeyLen)
		}
		if v := n.Metadata[k]; len(v) > maxMetaValueLen || !printable(v) {
			return bad("metadata %s: value is not printable text of at most %d bytes", k, maxMetaValueLen)
		}
	}
	return nil
}

// checkService checks a service name, for nodes and for Lookup and Watch.
func checkService(s string) error {
	if !validName(s, maxNameLen, isServiceByte) || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return fmt.Errorf("registry: %w: service %.64q is not 1 to %d letters, digits, '_', '-' and inner single dots", ErrInvalidNode, s, maxNameLen)
	}
	return nil
}

func checkID(id string) error {
	if !validName(id, maxNameLen, isIDByte) {
		return fmt.Errorf("%w: id %.64q is not 1 to %d letters, digits, '_' and '-'", ErrInvalidNode, id, maxNameLen)
	}
	return nil
}

// checkAddress checks the value of an endpoint: a URL, or an opaque
// address such as a NATS instance's id.
func checkAddress(s string) error {
	if s == "" || len(s) > maxURLLen {
		return fmt.Errorf("address of %d bytes, want 1 to %d", len(s), maxURLLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return fmt.Errorf("%.64q has a space, a control or a non-ASCII character", s)
		}
	}
	if !strings.Contains(s, "://") {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Host == "" {
		return fmt.Errorf("%.64q is not an absolute URL (scheme://host...)", s)
	}
	return nil
}

func validName(s string, max int, ok func(byte) bool) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isIDByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

func isServiceByte(c byte) bool { return isIDByte(c) || c == '.' }

func isMetaKeyByte(c byte) bool { return isIDByte(c) || c == '.' }

func isEndpointByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// entry is the stored form of a node: its JSON with the format's version.
type entry struct {
	Format int `json:"format"`
	Node
}

// Encode returns the stored form of n — its JSON with the format's
// version — after checking it with [Node.Validate] and against
// [MaxEntrySize]. Implementations of [Registry] store it; [Cache] reads
// it back.
func Encode(n Node) ([]byte, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(entry{Format: Format, Node: n})
	if err != nil {
		return nil, fmt.Errorf("registry: node %s: %w", Key(n.Service, n.ID), err)
	}
	if len(b) > MaxEntrySize {
		return nil, fmt.Errorf("registry: node %s: %w: %d bytes stored, at most %d", Key(n.Service, n.ID), ErrInvalidNode, len(b), MaxEntrySize)
	}
	return b, nil
}

// decode reads the entry stored under key: it must be of this format,
// valid, and be the node the key names. The error says why not, for the
// log.
func decode(key string, b []byte) (Node, error) {
	if len(b) > MaxEntrySize {
		return Node{}, fmt.Errorf("%d bytes, at most %d", len(b), MaxEntrySize)
	}
	var e struct {
		Format *int `json:"format"`
		Node
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return Node{}, fmt.Errorf("not a node: %v", err)
	}
	switch {
	case e.Format == nil:
		return Node{}, errors.New("not a node: no format")
	case *e.Format != Format:
		return Node{}, fmt.Errorf("format %d, this program reads %d", *e.Format, Format)
	}
	if err := e.Node.Validate(); err != nil {
		return Node{}, err
	}
	if Key(e.Service, e.ID) != key {
		return Node{}, fmt.Errorf("holds node %s", Key(e.Service, e.ID))
	}
	return e.Node, nil
}
