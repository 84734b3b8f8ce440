package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wegomesh/wego/store"
)

func TestCheckKeyContext(t *testing.T) {
	t.Parallel()
	plain := context.Background()
	reserved := store.WithReservedKeys(plain)
	for _, tc := range []struct {
		key            string
		plain, reserve bool // accepted under each context
	}{
		{"orders/1", true, true},
		{"_lock.orders", false, true},
		{"_x", false, true},
		{"_", false, false},
		{"__x", false, false},
		{"_.x", false, false},
		{"_x.", false, false},
		{"_a..b", false, false},
		{"_a b", false, false},
		{"_" + strings.Repeat("a", store.MaxKeyLen-1), false, true},
		{"_" + strings.Repeat("a", store.MaxKeyLen), false, false},
		{"", false, false},
	} {
		for _, c := range []struct {
			ctx  context.Context
			want bool
		}{{plain, tc.plain}, {reserved, tc.reserve}} {
			err := store.CheckKeyContext(c.ctx, tc.key)
			if (err == nil) != c.want {
				t.Errorf("CheckKeyContext(reserved=%v, %.20q) = %v, want accepted %v", c.ctx == reserved, tc.key, err, c.want)
			}
			if err != nil && !errors.Is(err, store.ErrInvalid) {
				t.Errorf("CheckKeyContext(%.20q) = %v, want store.ErrInvalid", tc.key, err)
			}
		}
	}
}

func TestCheckKeyContextAllocations(t *testing.T) {
	ctx := store.WithReservedKeys(context.Background())
	if n := testing.AllocsPerRun(100, func() {
		_ = store.CheckKeyContext(ctx, "orders/1")
		_ = store.CheckKeyContext(ctx, "_lock.orders")
	}); n != 0 {
		t.Errorf("CheckKeyContext allocates %v times, want 0", n)
	}
}
