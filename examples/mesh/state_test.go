package mesh_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// placeConcurrently places n orders of one pear each at once through
// orders' API at base, and returns how many were placed and how many
// were refused for insufficient stock; any other answer fails the test.
func placeConcurrently(t *testing.T, bases []string, n int) (placed, refused int) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body := postJSON(t, bases[i%len(bases)]+"/orders", `{"sku":"pear","qty":1}`)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case status == http.StatusCreated:
				placed++
			case status == http.StatusConflict && body["code"] == "inventory.insufficient_stock":
				refused++
			default:
				t.Errorf("order %d: %d %v", i, status, body)
			}
		}()
	}
	wg.Wait()
	return placed, refused
}

// Sixty orders for the five pears at once: exactly five are placed, and
// the others are refused with insufficient_stock, never a sixth sale:
// each reservation is a compare-and-set of the pear's record.
func TestConcurrentOrdersNeverOversell(t *testing.T) {
	for _, two := range []bool{false, true} {
		t.Run(fmt.Sprintf("two=%v", two), func(t *testing.T) {
			ord, _, st := startWithStores(t, two)
			placed, refused := placeConcurrently(t, []string{ord}, 60)
			if placed != 5 || refused != 55 {
				t.Fatalf("placed %d, refused %d; want 5 and 55", placed, refused)
			}
			if n, _ := st.inv.Available("pear"); n != 0 || st.inv.Reservations() != 5 || st.ord.Quantity("pear") != 5 {
				t.Fatalf("pear: %d left, %d reservations, %d ordered; want 0, 5, 5", n, st.inv.Reservations(), st.ord.Quantity("pear"))
			}
		})
	}
}
