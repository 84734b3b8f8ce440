package codec

import (
	"encoding/json"
	"reflect"
	"testing"
)

type benchNested struct {
	SKU   string `json:"sku"`
	Qty   int    `json:"qty"`
	Notes []struct {
		Text string `json:"text"`
	} `json:"notes"`
}

type benchFlat struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// BenchmarkDecodeStrict measures the strict decoder on its two paths, the
// one-walk decoder (flat) and the scanner then encoding/json (nested), and
// an unknown key refused, against encoding/json's Unmarshal of the same
// body, which checks nothing of what the strict decoder checks.
func BenchmarkDecodeStrict(b *testing.B) {
	flat := []byte(`{"sku":"apple-123","qty":3}`)
	nested := []byte(`{"sku":"apple-123","qty":3,"notes":[{"text":"gift"},{"text":"fragile"}]}`)
	unknown := []byte(`{"SKU":"apple-123","qty":3}`)
	ft, nt := TypeOf(reflect.TypeFor[benchFlat]()), TypeOf(reflect.TypeFor[benchNested]())
	b.Run("flat/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v benchFlat
			_ = json.Unmarshal(flat, &v)
		}
	})
	b.Run("flat/strict", func(b *testing.B) {
		b.ReportAllocs()
		var sc Scanner
		for b.Loop() {
			var v benchFlat
			if e := DecodeStrict(flat, &v, ft, &sc); e != nil {
				b.Fatal(e)
			}
		}
	})
	b.Run("nested/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v benchNested
			_ = json.Unmarshal(nested, &v)
		}
	})
	b.Run("nested/strict", func(b *testing.B) {
		b.ReportAllocs()
		var sc Scanner
		for b.Loop() {
			var v benchNested
			if e := DecodeStrict(nested, &v, nt, &sc); e != nil {
				b.Fatal(e)
			}
		}
	})
	b.Run("unknown-key/strict", func(b *testing.B) {
		b.ReportAllocs()
		var sc Scanner
		for b.Loop() {
			var v benchFlat
			if e := DecodeStrict(unknown, &v, ft, &sc); e == nil {
				b.Fatal("accepted")
			}
		}
	})
}
