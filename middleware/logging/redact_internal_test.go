package logging

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

type node struct {
	Name string `json:"name"`
	Next *node  `json:"next,omitempty"`
}

type inner struct {
	A int `json:"a"`
	B string
}

type Outer struct {
	inner
	*Ptr
	Named  inner          `json:"named"`
	When   time.Time      `json:"when"`
	Raw    []byte         `json:"raw"`
	Nums   [3]float64     `json:"nums"`
	IntMap map[int]string `json:"int_map"`
	Any    any            `json:"any"`
	Nil    any            `json:"nil"`
	Skip   string         `json:"-"`
	Zero   time.Time      `json:"zero,omitzero"`
	Empty  []int          `json:"empty,omitempty"`
	Uint   uint8          `json:"u"`
	Dur    time.Duration  `json:"dur"`
}

type Ptr struct{ P string }

func TestRedactorMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	r := newRedactor(nil)
	values := []any{
		Outer{
			inner:  inner{A: 1, B: "b"},
			Named:  inner{A: 2},
			When:   time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
			Raw:    []byte("hello"),
			Nums:   [3]float64{1.5, 1e21, -0.25},
			IntMap: map[int]string{3: "c", 1: "a"},
			Any:    map[string]any{"k": []any{1.0, "x", nil}},
			Uint:   7,
			Dur:    time.Second,
		},
		Outer{Ptr: &Ptr{P: "p"}},
		&node{Name: "a", Next: &node{Name: "b"}},
		[]string{"x", "<&>"},
		map[string]int{"b": 2, "a": 1},
		"plain",
		42,
	}
	for _, v := range values {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got := r.encode(nil, v)
		var w, g any
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%T: invalid JSON %s: %v", v, got, err)
		}
		if !reflect.DeepEqual(w, g) {
			t.Errorf("%T:\n got %s\nwant %s", v, got, want)
		}
	}
}

func TestRedactorCycleAndSpecials(t *testing.T) {
	t.Parallel()
	r := newRedactor(nil)
	n := &node{Name: "loop"}
	n.Next = n
	out := r.encode(nil, n)
	if !json.Valid(out) || !strings.Contains(string(out), "[TOO DEEP]") {
		t.Errorf("cycle: %s", out)
	}
	out = r.encode(nil, []float64{math.NaN(), math.Inf(1)})
	if !json.Valid(out) {
		t.Errorf("NaN, Inf: %s", out)
	}
	out = r.encode(nil, struct {
		C chan int
		F func()
	}{})
	if string(out) != `{"C":null,"F":null}` {
		t.Errorf("chan, func: %s", out)
	}
}

func TestRedactorNames(t *testing.T) {
	t.Parallel()
	r := newRedactor([]string{"iban"})
	type secrets struct {
		CardNumber string            `json:"cardNumber"`
		IBAN       string            `json:"Iban"`
		APIKey     string            `json:"x"` // Go name api_key
		Secret     string            `json:"s" audit:"include,secret"`
		Map        map[string]string `json:"m"`
		Fine       string            `json:"fine"`
	}
	out := string(r.encode(nil, secrets{"1", "2", "3", "4", map[string]string{"ACCESS-TOKEN": "5", "ok": "6"}, "7"}))
	for _, leak := range []string{`"1"`, `"2"`, `"3"`, `"4"`, `"5"`} {
		if strings.Contains(out, leak) {
			t.Errorf("%s leaks %s", out, leak)
		}
	}
	if !strings.Contains(out, `"ok":"6"`) || !strings.Contains(out, `"fine":"7"`) {
		t.Errorf("plain values missing: %s", out)
	}
}

func TestSameName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s    string
		ok   bool
		norm string
	}{
		{"card_number", true, "cardnumber"},
		{"CardNumber", true, "cardnumber"},
		{"card-number", true, "cardnumber"},
		{"cardnumbers", false, "cardnumber"},
		{"card", false, "cardnumber"},
	} {
		if got := sameName(tc.s, tc.norm); got != tc.ok {
			t.Errorf("sameName(%q, %q) = %v", tc.s, tc.norm, got)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\\n\x00", "\xff\xfe", "é\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q -> %s: %v", s, b, err)
		}
		ref, _ := json.Marshal(s)
		var want string
		_ = json.Unmarshal(ref, &want)
		if got != want {
			t.Fatalf("%q -> %q, encoding/json gives %q", s, got, want)
		}
	})
}
