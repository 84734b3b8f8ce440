package codec

import (
	"reflect"
	"strings"
	"testing"
)

// A Scanner that goes back to a pool keeps neither the document it
// scanned nor buffers that a large document grew.
func TestScannerReset(t *testing.T) {
	type doc struct {
		Items []map[string]int `json:"items"`
	}
	var sc Scanner
	small := []byte(`{"items":[{"a":1}]}`)
	if e := DecodeStrict(small, new(doc), TypeOf(reflect.TypeFor[doc]()), &sc); e != nil {
		t.Fatal(e)
	}
	if !sc.Reset() || sc.data != nil {
		t.Fatalf("after a small document: keep=%v, data kept=%v", !sc.Reset(), sc.data != nil)
	}
	big := []byte(`{"items":[` + strings.Repeat(`{"a":1,"b":2},`, 5000) + `{"a":1}]}`)
	var v doc
	sc.keys = make([]span, 0, 4*maxKeptElems) // as a scan of a large document leaves them
	if e := DecodeStrict(big, &v, TypeOf(reflect.TypeFor[doc]()), &sc); e != nil {
		t.Fatal(e)
	}
	if sc.Reset() || sc.data != nil {
		t.Fatal("a Scanner with grown buffers is kept, or keeps the document")
	}
}
