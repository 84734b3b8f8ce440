package codec_test

import (
	"fmt"
	"reflect"

	"github.com/wegomesh/wego/codec"
)

type Reserve struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// A transport makes the JSONType once per request type and decodes every
// body with it, reusing a Scanner: keys must be exactly the fields' JSON
// names, and each failure is one field violation with a message key.
func ExampleDecodeStrict() {
	jt := codec.TypeOf(reflect.TypeFor[Reserve]())
	var sc codec.Scanner
	for _, body := range []string{
		`{"sku":"apple-123","qty":3}`,
		`{"SKU":"apple-123","qty":3}`,
		`{"sku":"apple-123","qty":3,"qty":4}`,
		`{"sku":"apple-123","qty":"three"}`,
	} {
		var r Reserve
		if e := codec.DecodeStrict([]byte(body), &r, jt, &sc); e != nil {
			fv := e.Fields()[0]
			fmt.Printf("%s: %s %s\n", fv.Key, fv.Field, fv.Reason)
			continue
		}
		fmt.Printf("%+v\n", r)
	}
	// Output:
	// {SKU:apple-123 Qty:3}
	// codec.unknown_field: SKU is not a known field
	// codec.given_twice: qty is given twice
	// codec.type.integer: qty must be an integer
}

// A Plan encodes a flat struct as json.Encoder would, into a reused
// buffer; with HTML escaping for responses, without it for request bodies.
func ExamplePlan() {
	p := codec.PlanOf(reflect.TypeFor[Reserve]())
	buf, ok := p.Encode(nil, &Reserve{SKU: "apple-123", Qty: 3})
	fmt.Printf("%s%v\n", buf, ok)
	_, ok = p.Encode(buf[:0], &Reserve{SKU: "<b>"})
	fmt.Println(ok) // json.Encoder would escape '<': the caller uses it instead
	buf, ok = p.EncodeUnescaped(buf[:0], &Reserve{SKU: "<b>"})
	fmt.Printf("%s%v\n", buf, ok)
	// Output:
	// {"sku":"apple-123","qty":3}
	// true
	// false
	// {"sku":"<b>","qty":0}
	// true
}
