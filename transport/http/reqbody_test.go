package httptransport

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/wegomesh/wego/codec"
)

// encBody is a request type that a codec.Plan encodes.
type encBody struct {
	ID        string `json:"id"`
	Remaining int    `json:"remaining"`
	Small     int8   `json:"small,omitempty"`
	U         uint32 `json:"u,omitempty"`
	OK        bool   `json:"ok"`
	Maybe     bool   `json:"maybe,omitempty"`
	Opt       string `json:"opt,omitempty"`
	Plain     string
	Skipped   string `json:"-"`
	Named     myStr  `json:"named"`
}

type myStr string

// checkRequestEncoding encodes v as a remote route does and compares with
// json.Encoder without HTML escaping: the same bytes, and a bound of
// their size when the one-pass path takes v.
func checkRequestEncoding(t *testing.T, v *encBody) {
	t.Helper()
	plan := codec.PlanOf(reflect.TypeFor[encBody]())
	got, err := encodeRequest(v, plan)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	if string(got) != want.String() {
		t.Fatalf("%+v: encodeRequest %q, json.Encoder %q", *v, got, want.String())
	}
	if _, plain := plan.EncodeUnescaped(nil, v); !plain {
		return
	}
	if n, ok := plan.Bound(v); !ok || n < len(got) {
		t.Fatalf("%+v: bound %d for %d bytes", *v, n, len(got))
	}
}

func TestEncodeRequestNoHTMLEscaping(t *testing.T) {
	markup := strings.Repeat("<", 100<<10)
	for _, v := range []encBody{
		{}, {ID: "apple-123", Remaining: 97},
		{ID: "x", Remaining: -9223372036854775808, Small: -128, U: 1<<32 - 1, OK: true, Maybe: true, Opt: "o", Plain: "p", Named: "n"},
		{ID: markup}, {ID: "a&b>c"}, {ID: `"`}, {ID: `\`}, {ID: "\n"}, {ID: "é"}, {ID: "\u2028"}, {ID: "\xff"},
	} {
		checkRequestEncoding(t, &v)
	}
	got, err := encodeRequest(&encBody{ID: markup}, codec.PlanOf(reflect.TypeFor[encBody]()))
	if err != nil || len(got) > len(markup)+64 || cap(got) > len(got)+8<<10 {
		t.Errorf("%d bytes in a buffer of %d for %d bytes of '<'", len(got), cap(got), len(markup))
	}
	// Without a plan (a map), encoding/json, still without escaping.
	m, err := encodeRequest(map[string]string{"a": "<&>"}, nil)
	if err != nil || string(m) != "{\"a\":\"<&>\"}\n" {
		t.Errorf("%q %v", m, err)
	}
}

func FuzzEncodeRequest(f *testing.F) {
	f.Add("apple-123", -3, int8(1), uint32(2), true, "<x>")
	f.Fuzz(func(t *testing.T, id string, n int, small int8, u uint32, ok bool, opt string) {
		checkRequestEncoding(t, &encBody{ID: id, Remaining: n, Small: small, U: u, OK: ok, Maybe: !ok, Opt: opt, Plain: opt + id, Named: myStr(id)})
	})
}

func BenchmarkEncodeRequest(b *testing.B) {
	plan := codec.PlanOf(reflect.TypeFor[encBody]())
	v := &encBody{ID: "apple-123", Remaining: 97}
	b.Run("marshal", func(b *testing.B) { // what remote routes did before
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encodeRequest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeRequest(v, plan); err != nil {
				b.Fatal(err)
			}
		}
	})
}
