package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	errs "github.com/wegomesh/wego/err"
)

// fuzzBody exercises the strict decoder: nested structs, maps, slices,
// pointers, an interface, an embedded struct and renamed fields.
type fuzzBody struct {
	fuzzEmbedded
	Name   string             `json:"name"`
	Qty    int                `json:"qty"`
	Price  float64            `json:"price,omitempty"`
	OK     *bool              `json:"ok"`
	Tags   []string           `json:"tags"`
	Items  []fuzzItem         `json:"items"`
	ByKey  map[string]int     `json:"by_key"`
	Nested *fuzzBody          `json:"nested"`
	Raw    json.RawMessage    `json:"raw"`
	Any    any                `json:"any"`
	Deep   map[string][]*Leaf `json:"deep"`
	Bytes  []byte             `json:"bytes"`
	Plain  string             // no tag: matched by its Go name, exactly
}

type fuzzItem struct {
	Name  string            `json:"name"`
	Count uint8             `json:"count"`
	Attrs map[string]string `json:"attrs"`
}

type fuzzEmbedded struct {
	Region string `json:"region"`
}

// Leaf is a small named struct for nested positions.
type Leaf struct {
	V int `json:"v"`
}

// FuzzDecodeStrict feeds arbitrary bodies to the strict decoder
// (DecodeStrict: encoding/json plus the scanner for unknown fields,
// duplicate keys and invalid UTF-8). It must never panic; a failure must
// be an invalid-argument *errs.Error with one of the package's own field
// violations (a message key, never encoding/json's text) whose field path
// is valid UTF-8; and whatever it accepts must be valid JSON, valid UTF-8,
// free of keys given twice in one object, and accepted by encoding/json
// with DisallowUnknownFields to the same value.
func FuzzDecodeStrict(f *testing.F) {
	jt := TypeOf(reflect.TypeFor[fuzzBody]())
	for _, s := range []string{
		`{"name":"a","qty":1,"tags":["x"],"items":[{"name":"b","count":3,"attrs":{"k":"v"}}]}`,
		`{"nested":{"nested":{"name":"deep"}},"deep":{"a":[{"v":1},null]}}`,
		`{"region":"eu","Plain":"p","PLAIN":"q"}`, `{"n\u0061me":"a"}`, "{\"s\u212au\":1}",
		`{"name":"a","NAME":"b"}`,
		`{"name":"a","n\u0061me":"b"}`,
		`{"by_key":{"a":1,"A":2}}`,
		`{"any":{"x":[1,{"y":null,"y":2}]}}`,
		`{"raw":{"a":1,"a":2}}`,
		"{\"name\":\"\xff\"}",
		"{\"\xfe\":1}",
		`{"name":"\udc00"}`,
		`{"qty":1e400}`, `{"qty":"1"}`, `{"qty":1.5}`, `{"qty":NaN}`,
		`{"unknown":1}`, `{"nested":{"unknown":1}}`, `{"items":[{"nope":1}]}`,
		`{} {}`, `{}x`, `[]`, `null`, `"s"`, ``, `{`, `{"name":`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		`{"bytes":"aGVsbG8=","ok":true,"price":-0.0}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got fuzzBody
		var sc Scanner
		e := DecodeStrict(body, &got, jt, &sc)
		if e != nil {
			if e.Kind() != errs.KindInvalidArgument {
				t.Fatalf("%q: error of kind %v: %v", body, e.Kind(), e)
			}
			for _, fv := range e.Fields() {
				if !utf8.ValidString(fv.Field) || !utf8.ValidString(fv.Reason) {
					t.Fatalf("%q: field violation not valid UTF-8: %q %q", body, fv.Field, fv.Reason)
				}
				if !strings.HasPrefix(fv.Key, "codec.") {
					t.Fatalf("%q: field violation %+v is not one of the package's own", body, fv)
				}
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted invalid UTF-8 %q", body)
		}
		if k, dup := duplicateKey(body); dup {
			t.Fatalf("accepted key %q given twice in %q", k, body)
		}
		var want fuzzBody
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("accepted %q, which encoding/json with DisallowUnknownFields rejects: %v", body, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q decoded to %+v, encoding/json gives %+v", body, got, want)
		}
	})
}

// duplicateKey reports a key given twice, exactly, in one object of a
// valid JSON text, walking encoding/json's token stream.
func duplicateKey(body []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		object    bool
		keys      map[string]bool
		expectKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) || err != nil {
			return "", false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if top != nil && top.object {
					top.expectKey = true
				}
				stack = append(stack, &frame{object: v == '{', keys: map[string]bool{}, expectKey: true})
			case '}', ']':
				stack = stack[:len(stack)-1]
			}
		case string:
			if top != nil && top.object && top.expectKey {
				if top.keys[v] {
					return v, true
				}
				top.keys[v] = true
				top.expectKey = false
				continue
			}
			if top != nil && top.object {
				top.expectKey = true
			}
		default:
			if top != nil && top.object {
				top.expectKey = true
			}
		}
	}
}
