package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/sqlstore"
)

// A store in a SQLite file: a write, a compare-and-set that wins and one
// that loses, because someone wrote in between.
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "sqlstore-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.SQLite, filepath.Join(dir, "app.db"), sqlstore.Options{Name: "orders"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	if _, err := s.Put(ctx, "orders/42", []byte("new"), store.PutOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	r, _ := s.Get(ctx, "orders/42")
	_, err = s.Put(ctx, "orders/42", []byte("paid"), store.PutOptions{IfRevision: r.Revision})
	fmt.Println("first compare-and-set:", err)
	_, err = s.Put(ctx, "orders/42", []byte("canceled"), store.PutOptions{IfRevision: r.Revision})
	fmt.Println("second compare-and-set conflicts:", errors.Is(err, store.ErrConflict))
	r, _ = s.Get(ctx, "orders/42")
	fmt.Printf("orders/42 = %s\n", r.Value)
	// Output:
	// first compare-and-set: <nil>
	// second compare-and-set conflicts: true
	// orders/42 = paid
}
