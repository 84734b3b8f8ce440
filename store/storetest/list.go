package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/wegomesh/wego/store"
)

// keysOf returns the keys of rs, checking each record's value is its key.
func keysOf(t *testing.T, rs []store.Record) []string {
	t.Helper()
	keys := make([]string, len(rs))
	for i, r := range rs {
		if string(r.Value) != "v:"+r.Key {
			t.Fatalf("List returned %q with value %q, want %q", r.Key, r.Value, "v:"+r.Key)
		}
		if r.Revision == 0 {
			t.Fatalf("List returned %q with revision 0", r.Key)
		}
		keys[i] = r.Key
	}
	return keys
}

func (s *suite) list(t *testing.T) {
	st := s.store(t)
	for _, k := range []string{"x/b", "x/a", "x/c/1", "x/c/2", "y/a", "x", "xa", "x/gone"} {
		put(t, st, k, "v:"+k, store.PutOptions{})
	}
	if err := st.Delete(t.Context(), "x/gone", store.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	gone(t, st, "x/gone") // and a store without ReadYourWrites has caught up
	cases := []struct {
		prefix string
		opts   store.ListOptions
		want   []string
	}{
		{"", store.ListOptions{}, []string{"x", "x/a", "x/b", "x/c/1", "x/c/2", "xa", "y/a"}},
		{"x/", store.ListOptions{}, []string{"x/a", "x/b", "x/c/1", "x/c/2"}},
		{"x/", store.ListOptions{Limit: 2}, []string{"x/a", "x/b"}},
		{"x/", store.ListOptions{Reverse: true}, []string{"x/c/2", "x/c/1", "x/b", "x/a"}},
		{"x/", store.ListOptions{Reverse: true, Limit: 1}, []string{"x/c/2"}},
		{"x/c/", store.ListOptions{Limit: 10}, []string{"x/c/1", "x/c/2"}},
		{"x", store.ListOptions{After: "x/b"}, []string{"x/c/1", "x/c/2", "xa"}},
		{"z", store.ListOptions{}, []string{}},
	}
	for _, c := range cases {
		rs, err := st.List(t.Context(), c.prefix, c.opts)
		if err != nil {
			t.Fatalf("List(%q, %+v): %v", c.prefix, c.opts, err)
		}
		if got := keysOf(t, rs); !slices.Equal(got, c.want) {
			t.Errorf("List(%q, %+v) = %v, want %v", c.prefix, c.opts, got, c.want)
		}
	}
	_, err := st.List(t.Context(), "", store.ListOptions{Limit: -1})
	wantInvalid(t, "List with a negative limit", err, "limit")
	_, err = st.Keys(t.Context(), "", store.ListOptions{Limit: -1})
	wantInvalid(t, "Keys with a negative limit", err, "limit")
}

func (s *suite) listPaging(t *testing.T) {
	st := s.store(t)
	var want []string
	for i := range 25 {
		k := fmt.Sprintf("p/%02d", i)
		want = append(want, k)
		put(t, st, k, "v:"+k, store.PutOptions{})
	}
	put(t, st, "q/0", "v:q/0", store.PutOptions{})
	put(t, st, "o/0", "v:o/0", store.PutOptions{})
	page := func(reverse bool) []string {
		var all []string
		after := ""
		for n := 0; ; n++ {
			if n > 5 {
				t.Fatal("paging does not end")
			}
			rs, err := st.List(t.Context(), "p/", store.ListOptions{Limit: 10, Reverse: reverse, After: after})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, keysOf(t, rs)...)
			if len(rs) < 10 {
				return all
			}
			after = rs[len(rs)-1].Key
		}
	}
	if got := page(false); !slices.Equal(got, want) {
		t.Errorf("pages of 10 = %v, want %v", got, want)
	}
	rev := slices.Clone(want)
	slices.Reverse(rev)
	if got := page(true); !slices.Equal(got, rev) {
		t.Errorf("reverse pages of 10 = %v, want %v", got, rev)
	}
	for _, c := range []struct {
		opts store.ListOptions
		want []string
	}{
		{store.ListOptions{After: "p/05x", Limit: 2}, []string{"p/06", "p/07"}},
		{store.ListOptions{After: "p/05x", Limit: 2, Reverse: true}, []string{"p/05", "p/04"}},
		{store.ListOptions{After: "p/24"}, []string{}},
		{store.ListOptions{After: "p/00", Reverse: true}, []string{}},
		{store.ListOptions{After: "a"}, want},
	} {
		rs, err := st.List(t.Context(), "p/", c.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := keysOf(t, rs); !slices.Equal(got, c.want) {
			t.Errorf("List(p/, %+v) = %v, want %v", c.opts, got, c.want)
		}
	}
}

func (s *suite) keys(t *testing.T) {
	st := s.store(t)
	for _, k := range []string{"k/3", "k/1", "k/2", "j", "l"} {
		put(t, st, k, "v:"+k, store.PutOptions{})
	}
	for _, c := range []struct {
		prefix string
		opts   store.ListOptions
	}{
		{"", store.ListOptions{}},
		{"k/", store.ListOptions{}},
		{"k/", store.ListOptions{Reverse: true, Limit: 2}},
		{"k/", store.ListOptions{After: "k/1"}},
		{"none", store.ListOptions{}},
	} {
		keys, err := st.Keys(t.Context(), c.prefix, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := st.List(t.Context(), c.prefix, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		if want := keysOf(t, rs); !slices.Equal(keys, want) {
			t.Errorf("Keys(%q, %+v) = %v, List's keys %v", c.prefix, c.opts, keys, want)
		}
	}
}
