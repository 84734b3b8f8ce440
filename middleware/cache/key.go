package cache

import (
	"encoding"
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"unsafe"
)

// flatKey encodes requests whose type is made of booleans, numbers and
// strings only — directly or in structs without embedded fields — without
// reflection per call: the field offsets are found once, at Wrap time.
// Like encoding/json it skips unexported fields and fields tagged
// json:"-"; unlike it, it writes a compact binary form (fixed-width
// numbers, length-prefixed strings), which is just as canonical and much
// cheaper to build (see docs/performance-notes.md). Types it cannot encode
// get keys from encoding/json.
type flatKey struct {
	fields []flatField
}

type flatField struct {
	off  uintptr
	kind reflect.Kind
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// newFlatKey returns the encoder of t, or nil when t is not flat.
func newFlatKey(t reflect.Type) *flatKey {
	k := &flatKey{}
	if !k.add(t, 0, 0) {
		return nil
	}
	return k
}

func (k *flatKey) add(t reflect.Type, off uintptr, depth int) bool {
	if depth > 8 || t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) ||
		t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler) {
		return false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		k.fields = append(k.fields, flatField{off: off, kind: t.Kind()})
		return true
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				return false // encoding/json's rules for embedded fields: leave them to it
			}
			if !f.IsExported() {
				continue
			}
			if f.Tag.Get("json") == "-" {
				continue
			}
			if !k.add(f.Type, off+f.Offset, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// append appends the key of the value at p to b.
func (k *flatKey) append(b []byte, p unsafe.Pointer) []byte {
	for _, f := range k.fields {
		q := unsafe.Add(p, f.off)
		switch f.kind {
		case reflect.Bool:
			if *(*bool)(q) {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		case reflect.String:
			s := *(*string)(q)
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		case reflect.Int:
			b = binary.LittleEndian.AppendUint64(b, uint64(*(*int)(q)))
		case reflect.Int8:
			b = append(b, byte(*(*int8)(q)))
		case reflect.Int16:
			b = binary.LittleEndian.AppendUint16(b, uint16(*(*int16)(q)))
		case reflect.Int32:
			b = binary.LittleEndian.AppendUint32(b, uint32(*(*int32)(q)))
		case reflect.Int64:
			b = binary.LittleEndian.AppendUint64(b, uint64(*(*int64)(q)))
		case reflect.Uint:
			b = binary.LittleEndian.AppendUint64(b, uint64(*(*uint)(q)))
		case reflect.Uint8:
			b = append(b, *(*uint8)(q))
		case reflect.Uint16:
			b = binary.LittleEndian.AppendUint16(b, *(*uint16)(q))
		case reflect.Uint32:
			b = binary.LittleEndian.AppendUint32(b, *(*uint32)(q))
		case reflect.Uint64:
			b = binary.LittleEndian.AppendUint64(b, *(*uint64)(q))
		case reflect.Float32:
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(*(*float32)(q)))
		case reflect.Float64:
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(*(*float64)(q)))
		}
	}
	return b
}
