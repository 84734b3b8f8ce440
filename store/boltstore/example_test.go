package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/boltstore"
)

// Open a file, write a record and read it back; then a compare-and-set
// that names an old revision fails with store.ErrConflict.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "boltstore")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := boltstore.Open(filepath.Join(dir, "data", "wego.db"), boltstore.Options{Bucket: "orders"})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	ctx := context.Background()
	rev, err := s.Put(ctx, "order/1", []byte("new"), store.PutOptions{})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := s.Put(ctx, "order/1", []byte("paid"), store.PutOptions{IfRevision: rev}); err != nil {
		log.Fatal(err)
	}
	_, err = s.Put(ctx, "order/1", []byte("cancelled"), store.PutOptions{IfRevision: rev})
	fmt.Println(errors.Is(err, store.ErrConflict))

	r, err := s.Get(ctx, "order/1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s at revision %d, durability synced: %v\n", r.Value, r.Revision, s.Features().Durability == store.DurabilitySynced)
	// Output:
	// true
	// paid at revision 2, durability synced: true
}
