package storetest

import (
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
	if st.Features().Watch {
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
