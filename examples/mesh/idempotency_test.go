package mesh_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// placeWithKey sends POST /orders with an Idempotency-Key and returns the
// status and the decoded body.
func placeWithKey(t *testing.T, base, body, key, lang string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/orders", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("POST /orders: %d %s", resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

func available(t *testing.T, inventoryURL, sku string) int {
	t.Helper()
	resp, err := http.Get(inventoryURL + "/inventory/stock/" + sku)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct{ Available int }
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s.Available
}

// POST /orders twice with one Idempotency-Key gives the same order and
// reserves once; so do 20 concurrent duplicates; the key with another
// order is 422. Both deployments, two processes and one.
func TestPlaceWithIdempotencyKey(t *testing.T) {
	t.Parallel()
	for name, start := range map[string]func(*testing.T) (string, string){"two deployables": twoDeployables, "one process": oneProcess} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ord, inv := start(t)
			before := available(t, inv, "apple")
			s1, first := placeWithKey(t, ord, `{"sku":"apple","qty":2}`, "order-1", "")
			s2, retry := placeWithKey(t, ord, `{"sku":"apple","qty":2}`, "order-1", "")
			if s1 != http.StatusCreated || s2 != http.StatusCreated || first["order_id"] == nil ||
				retry["order_id"] != first["order_id"] || retry["reservation_id"] != first["reservation_id"] {
				t.Fatalf("first %d %v, retry %d %v", s1, first, s2, retry)
			}
			if got := available(t, inv, "apple"); got != before-2 {
				t.Fatalf("apple: %d available after one order of 2 and its retry, want %d", got, before-2)
			}

			var wg sync.WaitGroup
			ids := make([]any, 20)
			for i := range ids {
				wg.Go(func() {
					if s, o := placeWithKey(t, ord, `{"sku":"apple","qty":1}`, "order-2", ""); s == http.StatusCreated {
						ids[i] = o["order_id"]
					}
				})
			}
			wg.Wait()
			for i := range ids {
				if ids[i] == nil || ids[i] != ids[0] {
					t.Fatalf("duplicate %d got order %v, the first %v", i, ids[i], ids[0])
				}
			}
			if got := available(t, inv, "apple"); got != before-3 {
				t.Fatalf("apple: %d available after 20 duplicates of one order of 1, want %d", got, before-3)
			}

			s, e := placeWithKey(t, ord, `{"sku":"apple","qty":5}`, "order-1", "es")
			if s != http.StatusUnprocessableEntity || e["code"] != "idempotency.key_reused" ||
				e["message"] != "La clave de idempotencia ya se usó para otra solicitud." {
				t.Fatalf("another order with a used key: %d %v", s, e)
			}
			if got := available(t, inv, "apple"); got != before-3 {
				t.Fatalf("the rejected order reserved: %d available", got)
			}
		})
	}
}

// An error answer is replayed too: the retry of an order for more pears
// than there are gets the same 409, and stock that arrives in between does
// not change the answer to that request.
func TestPlaceWithIdempotencyKeyReplaysErrors(t *testing.T) {
	t.Parallel()
	ord, inv := twoDeployables(t)
	s1, e1 := placeWithKey(t, ord, `{"sku":"pear","qty":50}`, "too-many", "")
	s2, e2 := placeWithKey(t, ord, `{"sku":"pear","qty":50}`, "too-many", "")
	if s1 != http.StatusConflict || s2 != s1 || e2["code"] != e1["code"] || e1["code"] != "inventory.insufficient_stock" {
		t.Fatalf("first %d %v, retry %d %v", s1, e1, s2, e2)
	}
	if got := available(t, inv, "pear"); got != 5 {
		t.Fatalf("pear: %d available", got)
	}
}
