package codec

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// fastBody is a flat request type that has a fastPlan.
type fastBody struct {
	SKU     string            `json:"sku"`
	Qty     int               `json:"qty"`
	Small   int8              `json:"small"`
	U       uint16            `json:"u"`
	F       float32           `json:"f"`
	D       float64           `json:"d,omitempty"`
	OK      bool              `json:"ok"`
	Plain   string            // matched by its Go name, exactly
	Quoted  int               `json:"quoted,string"`
	Num     json.Number       `json:"num"`
	Ptr     *int              `json:"ptr"`
	Tags    []string          `json:"tags"`
	M       map[string]string `json:"m"`
	Skipped string            `json:"-"`
	//lint:ignore U1000 an unexported field, which decoding must ignore
	hidden string
}

var fastSeeds = []string{
	`{"sku":"apple-123","qty":3}`,
	` { "sku" : "a" , "qty" : -0 , "ok" : true } `,
	"{\"sku\":\"\t\"}", "{\"sku\":\"a\x01\"}",
	`{"SKU":"x","Qty":1}`, `{"sku":"a","SKU":"b"}`, `{"sku":"a","sku":"b"}`,
	`{"sku":"caf\u00e9"}`, `{"sku":"café"}`, "{\"sku\":\"\xff\"}", "{\"sk\xffu\":1}",
	`{"ſku":"x"}`, `{"Kelvin":1}`, `{"plain":"p"}`, `{"PLAIN":"p"}`,
	`{"qty":1e2}`, `{"qty":1.0}`, `{"qty":01}`, `{"qty":-}`, `{"qty":+1}`, `{"qty":9223372036854775808}`,
	`{"qty":-9223372036854775808}`, `{"small":127}`, `{"small":128}`, `{"small":-129}`,
	`{"u":65535}`, `{"u":65536}`, `{"u":-1}`, `{"f":3.4e38}`, `{"f":3.5e38}`, `{"f":1e-50}`, `{"d":1e400}`,
	`{"d":-0.0}`, `{"d":1.5E+3}`, `{"d":1.}`, `{"d":.5}`, `{"d":1e}`,
	`{"ok":false}`, `{"ok":tru}`, `{"ok":null}`, `{"ok":1}`, `{"sku":null}`, `{"sku":1}`, `{"qty":"1"}`,
	`{"quoted":"12"}`, `{"num":"12"}`, `{"num":12}`, `{"ptr":1}`, `{"tags":["a"]}`, `{"m":{"a":"b"}}`,
	`{"skipped":"x"}`, `{"hidden":"x"}`, `{"unknown":1}`, `{"-":1}`,
	`{}`, `{ }`, `{} `, `{}x`, `{} {}`, `{`, `{"sku"`, `{"sku":`, `{"sku":"a"`, `{"sku":"a",}`, `{,"sku":"a"}`,
	`{"sku":"a" "qty":1}`, `{"sku" "a"}`, `[]`, `null`, `"s"`, ``, ` `, "\ufeff{}", `{"qty":1}}`,
	`{"sku":"a\"b"}`, `{"sku":"a\\b"}`, `{"s\u006bu":"a"}`,
}

// checkFastSame decodes body with and without the fast plan and fails
// when the results differ.
func checkFastSame(t *testing.T, body []byte) {
	jt := TypeOf(reflect.TypeFor[fastBody]())
	if jt.fast == nil {
		t.Fatal("fastBody has no fast plan")
	}
	slow := *jt
	slow.fast = nil
	var a, b fastBody
	var sa, sb Scanner
	ea := DecodeStrict(body, &a, jt, &sa)
	eb := DecodeStrict(body, &b, &slow, &sb)
	if (ea == nil) != (eb == nil) || (ea != nil && ea.Error() != eb.Error()) {
		t.Fatalf("%q: fast path error %v, general path error %v", body, ea, eb)
	}
	if ea == nil && !reflect.DeepEqual(a, b) {
		t.Fatalf("%q: fast path %+v, general path %+v", body, a, b)
	}
}

func TestFastDecodeSameAsGeneral(t *testing.T) {
	for _, s := range fastSeeds {
		checkFastSame(t, []byte(s))
	}
}

func FuzzFastDecode(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkFastSame)
}

// checkDecodeSame decodes body with Decode and with json.Unmarshal and
// fails when the values or the errors differ.
func checkDecodeSame(t *testing.T, body []byte) {
	jt := TypeOf(reflect.TypeFor[fastBody]())
	var a, b fastBody
	ea, eb := Decode(body, &a, jt), json.Unmarshal(body, &b)
	if (ea == nil) != (eb == nil) || (ea != nil && ea.Error() != eb.Error()) {
		t.Fatalf("%q: Decode error %v, json.Unmarshal error %v", body, ea, eb)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("%q: Decode %+v, json.Unmarshal %+v", body, a, b)
	}
}

func TestDecodeSameAsUnmarshal(t *testing.T) {
	for _, s := range fastSeeds {
		checkDecodeSame(t, []byte(s))
	}
	var v struct{ A string }
	if err := Decode([]byte(`{"A":"x"}`), &v, nil); err != nil || v.A != "x" {
		t.Errorf("without a JSONType: %+v, %v", v, err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkDecodeSame)
}

// Decode of the common answer allocates only the strings it sets.
func TestDecodeAllocations(t *testing.T) {
	type answer struct {
		ID        string `json:"id"`
		Remaining int    `json:"remaining"`
	}
	jt := TypeOf(reflect.TypeFor[answer]())
	body := []byte(`{"id":"apple-123","remaining":97}`)
	var v answer
	if n := testing.AllocsPerRun(100, func() {
		if err := Decode(body, &v, jt); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("%v allocations per Decode, want at most 1 (the id)", n)
	}
}

func TestFastPlanEligibility(t *testing.T) {
	type emb struct{ A int }
	type withEmbedded struct {
		emb
		B int
	}
	// Two fields with one JSON name: encoding/json decodes neither.
	clash := reflect.StructOf([]reflect.StructField{
		{Name: "A", Type: reflect.TypeFor[int](), Tag: `json:"x"`},
		{Name: "B", Type: reflect.TypeFor[int](), Tag: `json:"x"`},
	})
	type odd struct {
		A int `json:"a b"`
	}
	for _, typ := range []reflect.Type{
		reflect.TypeFor[withEmbedded](), clash, reflect.TypeFor[odd](),
		reflect.TypeFor[json.RawMessage](), reflect.TypeFor[map[string]int](), reflect.TypeFor[*fastBody](),
	} {
		if p := fastPlanOf(typ); p != nil {
			t.Errorf("%v has a fast plan", typ)
		}
	}
	if fastPlanOf(reflect.TypeFor[fastBody]()) == nil {
		t.Error("fastBody has no fast plan")
	}
}

func TestFastDecodeTakesCommonBodies(t *testing.T) {
	p := fastPlanOf(reflect.TypeFor[fastBody]())
	for _, s := range []string{
		`{"sku":"apple-123","qty":3}`, ` {"sku":"café","small":-128,"u":65535,"f":1.5,"d":-2e-3,"ok":true,"Plain":"x"}` + "\n", `{}`,
	} {
		var v fastBody
		if _, ok := p.decode([]byte(s), &v, nil); !ok {
			t.Errorf("%s: not taken by the fast path", s)
		}
	}
}

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
	hidden    string
	Named     myStr `json:"named"`
}

type myStr string

// checkEncSame encodes v with the plan and with json.Encoder; when the
// plan takes v, the bytes must be the same. So must they be without HTML
// escaping, within the plan's bound.
func checkEncSame(t *testing.T, v *encBody) bool {
	p := PlanOf(reflect.TypeFor[encBody]())
	if p == nil {
		t.Fatal("encBody has no plan")
	}
	got, ok := p.Encode(nil, v)
	var want bytes.Buffer
	if err := json.NewEncoder(&want).Encode(v); err != nil {
		t.Fatal(err)
	}
	if ok && string(got) != want.String() {
		t.Fatalf("%+v: plan %q, json.Encoder %q", *v, got, want.String())
	}
	plain, plainOK := p.EncodeUnescaped(nil, v)
	want.Reset()
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	if plainOK && string(plain) != want.String() {
		t.Fatalf("%+v: plan without escaping %q, json.Encoder %q", *v, plain, want.String())
	}
	if ok && !plainOK {
		t.Fatalf("%+v: encoded with escaping, not without", *v)
	}
	if n, bounded := p.Bound(v); plainOK && (!bounded || n < len(plain)) {
		t.Fatalf("%+v: bound %d for %d bytes", *v, n, len(plain))
	}
	return ok
}

func TestEncPlanSameAsEncoder(t *testing.T) {
	for _, v := range []encBody{
		{}, {ID: "apple-123", Remaining: 97}, {ID: "x", Remaining: -5, Small: -128, U: 1 << 31, OK: true, Maybe: true, Opt: "o", Plain: "p", Skipped: "s", hidden: "h", Named: "n"},
		{ID: "a~\x7f b"}, {Named: "ok"},
	} {
		if !checkEncSame(t, &v) {
			t.Errorf("%+v: not taken by the plan", v)
		}
	}
	for _, s := range []string{"<", ">", "&", `"`, `\`, "\n", "\x00", "é", "\u2028", "\xff"} {
		v := encBody{ID: "a" + s}
		if checkEncSame(t, &v) {
			t.Errorf("%q: taken by the plan", s)
		}
		v = encBody{Named: myStr(s)}
		checkEncSame(t, &v)
	}
}

func FuzzEncPlan(f *testing.F) {
	f.Add("apple-123", -3, int8(1), uint32(2), true, "x")
	f.Fuzz(func(t *testing.T, id string, n int, small int8, u uint32, ok bool, opt string) {
		checkEncSame(t, &encBody{ID: id, Remaining: n, Small: small, U: u, OK: ok, Maybe: !ok, Opt: opt, Plain: opt + id})
	})
}

func TestEncPlanEligibility(t *testing.T) {
	type withFloat struct {
		F float64 `json:"f"`
	}
	type quoted struct {
		N int `json:"n,string"`
	}
	type omitzero struct {
		N int `json:"n,omitzero"`
	}
	type dup struct {
		A int
		B int `json:"A"`
	}
	type num struct {
		N json.Number `json:"n"`
	}
	type ptr struct {
		P *int `json:"p"`
	}
	type emb struct{ encBody }
	for _, typ := range []reflect.Type{
		reflect.TypeFor[withFloat](), reflect.TypeFor[quoted](), reflect.TypeFor[omitzero](), reflect.TypeFor[dup](),
		reflect.TypeFor[num](), reflect.TypeFor[ptr](), reflect.TypeFor[emb](), reflect.TypeFor[json.RawMessage](),
		reflect.TypeFor[time.Time](), reflect.TypeFor[*encBody](),
	} {
		if PlanOf(typ) != nil {
			t.Errorf("%v has an encoding plan", typ)
		}
	}
}
