package codec_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/wegomesh/wego/codec"
	errs "github.com/wegomesh/wego/err"
)

// Unmarshal and Parse refuse what DecodeStrict refuses, with its errors.
func TestUnmarshalAndParseAreStrict(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		body, key string // key "": accepted
	}{
		{`{"sku":"a","qty":1}`, ""},
		{` {"sku":"a"} `, ""},
		{`{"sku":"a"} {}`, "codec.data_after_json"},
		{`{"sku":`, "codec.not_valid_json"},
		{`{"sku":"a","sku":"b"}`, "codec.given_twice"},
		{`{"sku":"a","s\u006bu":"b"}`, "codec.given_twice"},
		{"{\"sku\":\"\xff\"}", "codec.invalid_utf8"},
	} {
		var r struct {
			SKU string `json:"sku"`
			Qty int    `json:"qty"`
		}
		err := codec.Unmarshal([]byte(tt.body), &r)
		checkKey(t, "Unmarshal", tt.body, err, tt.key)
		_, err = codec.Parse([]byte(tt.body))
		checkKey(t, "Parse", tt.body, err, tt.key)
	}
	var r struct {
		SKU string `json:"sku"`
	}
	checkKey(t, "Unmarshal", `{"SKU":"a"}`, codec.Unmarshal([]byte(`{"SKU":"a"}`), &r), "codec.unknown_field")
	checkKey(t, "Unmarshal", `{"sku":1}`, codec.Unmarshal([]byte(`{"sku":1}`), &r), "codec.type.string")
	var notPtr struct{}
	if err := codec.Unmarshal([]byte(`{}`), notPtr); err == nil {
		t.Error("Unmarshal into a struct, not a pointer: no error")
	}
}

func checkKey(t *testing.T, fn, body string, err error, key string) {
	t.Helper()
	if key == "" {
		if err != nil {
			t.Errorf("%s(%q): %v", fn, body, err)
		}
		return
	}
	e, ok := errs.As(err)
	if !ok || e.Kind() != errs.KindInvalidArgument || len(e.Fields()) != 1 || e.Fields()[0].Key != key {
		t.Errorf("%s(%q): %v, want one violation %s", fn, body, err, key)
	}
}

// Parse keeps numbers exact, as json.Number.
func TestParseNumbers(t *testing.T) {
	t.Parallel()
	v, err := codec.Parse([]byte(`{"n":12345678901234567890,"a":[1.50,null,true,"s"]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"n": json.Number("12345678901234567890"), "a": []any{json.Number("1.50"), nil, true, "s"}}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("got %#v, want %#v", v, want)
	}
	if v, err := codec.Parse([]byte(`1e400`)); err != nil || v != json.Number("1e400") {
		t.Errorf("1e400: %#v, %v", v, err)
	}
}
