package storetest

import (
	"slices"
	"testing"

	"github.com/wegomesh/wego/store"
)

// reservedKeys: under store.WithReservedKeys, a key that starts with "_"
// (WeGO's own records, such as package lock's "_lock.<name>") is read,
// written with conditions, watched and deleted like any other; without it
// the key is invalid (invalidKey).
func (s *suite) reservedKeys(t *testing.T) {
	st := s.store(t)
	ctx := store.WithReservedKeys(t.Context())
	const key = "_wego.reserved"
	rev, err := st.Put(ctx, key, []byte("v1"), store.PutOptions{Create: true})
	if err != nil {
		t.Fatalf("Put(%q) under WithReservedKeys: %v", key, err)
	}
	_, err = st.Put(ctx, key, []byte("v2"), store.PutOptions{Create: true})
	wantErr(t, "a second Create of a reserved key", err, store.ErrConflict, store.ErrConflict.Kind())
	rec, err := st.Get(ctx, key)
	if err != nil || string(rec.Value) != "v1" || rec.Revision != rev {
		t.Fatalf("Get(%q) under WithReservedKeys = %q at revision %d, %v; want %q at %d", key, rec.Value, rec.Revision, err, "v1", rev)
	}
	if _, err := st.Get(t.Context(), key); err == nil {
		t.Fatalf("Get(%q) without WithReservedKeys succeeded", key)
	}
	if rev, err = st.Put(ctx, key, []byte("v2"), store.PutOptions{IfRevision: rev}); err != nil {
		t.Fatalf("Put(%q, IfRevision) under WithReservedKeys: %v", key, err)
	}
	for _, prefix := range []string{"", "_wego."} {
		keys, err := st.Keys(ctx, prefix, store.ListOptions{})
		if err != nil {
			t.Fatalf("Keys(%q): %v", prefix, err)
		}
		if listed := slices.Contains(keys, key); listed != (prefix != "") {
			t.Fatalf("Keys(%q) = %q: a reserved key must be listed under a prefix that starts with _ only", prefix, keys)
		}
	}
	if st.Features().Watch {
		all, err := st.Watch(ctx, "")
		if err != nil {
			t.Fatalf("Watch(%q): %v", "", err)
		}
		if got := synced(t, all); len(got) != 0 {
			t.Fatalf("Watch(%q) reported %v: a reserved key must be watched under a prefix that starts with _ only", "", got)
		}
		ch, err := st.Watch(ctx, "_wego.")
		if err != nil {
			t.Fatalf("Watch(%q) under WithReservedKeys: %v", "_wego.", err)
		}
		if got := synced(t, ch); got[key].Revision != rev {
			t.Fatalf("Watch(%q) under WithReservedKeys reported %v, want %q at revision %d", "_wego.", got, key, rev)
		}
	}
	if err := st.Delete(ctx, key, store.DeleteOptions{IfRevision: rev}); err != nil {
		t.Fatalf("Delete(%q, IfRevision) under WithReservedKeys: %v", key, err)
	}
	if _, err := st.Get(ctx, key); err == nil {
		t.Fatalf("Get(%q) after its delete succeeded", key)
	}
}
