package idempotency

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash"
	"reflect"
	"sync"
)

// fingerprinter computes the fingerprints of one command's requests.
type fingerprinter struct {
	reqPtr reflect.Type // *Req
	// hidden are the exported fields of Req that encoding/json leaves out
	// (json:"-"): the ones transports bind to the path, the query or
	// headers. They are part of the request, so they are hashed too.
	hidden []hiddenField
}

type hiddenField struct {
	name  string
	index []int
}

func newFingerprinter(req reflect.Type) *fingerprinter {
	f := &fingerprinter{reqPtr: reflect.PointerTo(req)}
	if req.Kind() != reflect.Struct {
		return f
	}
	for _, sf := range reflect.VisibleFields(req) {
		if (sf.IsExported() || sf.Anonymous) && sf.Tag.Get("json") == "-" {
			f.hidden = append(f.hidden, hiddenField{name: sf.Name, index: sf.Index})
		}
	}
	return f
}

// hasher is a pooled SHA-256 with a JSON encoder that writes into it.
type hasher struct {
	h   hash.Hash
	enc *json.Encoder
}

var hashers = sync.Pool{New: func() any {
	h := sha256.New()
	enc := json.NewEncoder(h)
	enc.SetEscapeHTML(false)
	return &hasher{h: h, enc: enc}
}}

// sum returns the fingerprint of req, a *Req: the SHA-256 of its JSON
// encoding followed by the name and JSON encoding of each field that JSON
// leaves out. encoding/json is canonical for a given type (struct fields
// in declaration order, map keys sorted), so equal requests have equal
// fingerprints.
func (f *fingerprinter) sum(req any) (Fingerprint, error) {
	var fp Fingerprint
	rv := reflect.ValueOf(req)
	if !rv.IsValid() || rv.Type() != f.reqPtr || rv.IsNil() {
		return fp, fmt.Errorf("idempotency: request of type %T, want %s", req, f.reqPtr)
	}
	hs := hashers.Get().(*hasher)
	defer hashers.Put(hs)
	hs.h.Reset()
	if err := hs.enc.Encode(req); err != nil {
		return fp, fmt.Errorf("idempotency: encoding the request: %w", err)
	}
	if len(f.hidden) > 0 {
		elem := rv.Elem()
		for _, hf := range f.hidden {
			v, err := elem.FieldByIndexErr(hf.index)
			if err != nil || !v.CanInterface() { // through a nil embedded pointer, or unexported
				continue
			}
			_, _ = hs.h.Write([]byte(hf.name))
			if err := hs.enc.Encode(v.Interface()); err != nil {
				return fp, fmt.Errorf("idempotency: encoding field %s of the request: %w", hf.name, err)
			}
		}
	}
	hs.h.Sum(fp[:0])
	return fp, nil
}
