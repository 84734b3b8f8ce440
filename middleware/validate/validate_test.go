package validate_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/validate"
)

type reserveReq struct {
	SKU  string `json:"sku"`
	Qty  int    `json:"qty"`
	Note string `json:"note"`
	// Fail, when set, is what Validate returns instead of checking.
	Fail error `json:"-"`
}

func (r reserveReq) Validate() error {
	if r.Fail != nil {
		return r.Fail
	}
	return validate.Check().NotEmpty("sku", r.SKU).Min("qty", r.Qty, 1).MaxLen("note", r.Note, 5).Err()
}

type reserveResp struct{ Left int }

// minQty is the violation of Min("qty", 0, 1).
var minQty = errs.FieldViolation{Field: "qty", Reason: "must be at least 1", Key: validate.KeyMin, Params: map[string]string{"min": "1"}}

// ptrReq validates on its pointer.
type ptrReq struct{ N int }

func (r *ptrReq) Validate() error {
	return validate.Check().Max("n", r.N, 10).Err()
}

type plainReq struct{ N int }

func newCatalog(t *testing.T, cfg validate.Config) (*catalog.Catalog, *int) {
	t.Helper()
	cat := catalog.New()
	mw, err := validate.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cat.UseServerSide(mw)
	calls := new(int)
	if _, err := catalog.RegisterIn(cat, "inventory.Reserve", func(_ context.Context, r reserveReq) (reserveResp, error) {
		*calls++
		return reserveResp{Left: 10 - r.Qty}, nil
	}); err != nil {
		t.Fatal(err)
	}
	return cat, calls
}

func TestValidate(t *testing.T) {
	t.Parallel()
	notFound := errs.NotFound(errs.P("id", "x"))
	plain := errors.New("sku and qty disagree")
	tests := []struct {
		name   string
		req    reserveReq
		code   string
		fields []errs.FieldViolation
		same   error // the error must come back as it is
		cause  error
	}{
		{name: "valid", req: reserveReq{SKU: "apple", Qty: 2}},
		{name: "one field", req: reserveReq{SKU: "apple"}, code: "invalid_argument",
			fields: []errs.FieldViolation{minQty}},
		{name: "every field", req: reserveReq{SKU: "  ", Qty: -1, Note: "héllo!"}, code: "invalid_argument",
			fields: []errs.FieldViolation{
				{Field: "sku", Reason: "must not be empty", Key: validate.KeyNotEmpty},
				minQty,
				{Field: "note", Reason: "must be at most 5 characters long", Key: validate.KeyMaxLen, Params: map[string]string{"max": "5"}},
			}},
		{name: "errs error passes through", req: reserveReq{Fail: notFound}, code: "not_found", same: notFound},
		{name: "plain error", req: reserveReq{Fail: plain}, code: "invalid_argument", cause: plain,
			fields: []errs.FieldViolation{{Field: "request", Reason: "sku and qty disagree"}}},
		{name: "joined errors", req: reserveReq{Fail: errors.Join(errors.New("a"), errors.New("b"))}, code: "invalid_argument",
			fields: []errs.FieldViolation{{Field: "request", Reason: "a"}, {Field: "request", Reason: "b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cat, calls := newCatalog(t, validate.DefaultConfig())
			h, err := catalog.HandleOf[reserveReq, reserveResp](cat, "inventory.Reserve")
			if err != nil {
				t.Fatal(err)
			}
			_, err = h.Call(context.Background(), tt.req)
			if got := errs.CodeOf(err); got != tt.code {
				t.Fatalf("code = %q, want %q (err %v)", got, tt.code, err)
			}
			if tt.code == "" {
				if *calls != 1 {
					t.Fatalf("command ran %d times, want 1", *calls)
				}
				return
			}
			if *calls != 0 {
				t.Fatal("the command ran despite an invalid request")
			}
			if tt.same != nil && err != tt.same {
				t.Fatalf("err = %v, want the Validate error itself", err)
			}
			e, ok := errs.As(err)
			if !ok {
				t.Fatalf("%T is not an errs error", err)
			}
			if !reflect.DeepEqual(e.Fields(), tt.fields) {
				t.Fatalf("fields = %v, want %v", e.Fields(), tt.fields)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Fatalf("%v does not wrap the Validate error", err)
			}
			if e.Status() != 400 && tt.code == "invalid_argument" {
				t.Fatalf("status %d", e.Status())
			}
		})
	}
}

func TestValidateByName(t *testing.T) {
	t.Parallel()
	cat, _ := newCatalog(t, validate.DefaultConfig())
	var out reserveResp
	err := cat.Call(context.Background(), "inventory.Reserve", &reserveReq{SKU: "apple"}, &out)
	if e, ok := errs.As(err); !ok || e.Code() != "invalid_argument" || !strings.Contains(e.Message(), "qty must be at least 1") {
		t.Fatalf("err = %v", err)
	}
}

func TestPointerReceiverAndPointerRequest(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	mw, _ := validate.New(validate.DefaultConfig())
	cat.UseServerSide(mw)
	byValue, _ := catalog.RegisterIn(cat, "p.Value", func(_ context.Context, r ptrReq) (int, error) { return r.N, nil })
	byPtr, _ := catalog.RegisterIn(cat, "p.Pointer", func(_ context.Context, r *ptrReq) (int, error) { return r.N, nil })
	ctx := context.Background()
	if _, err := byValue.Call(ctx, ptrReq{N: 11}); errs.CodeOf(err) != "invalid_argument" {
		t.Fatalf("value request with a pointer-receiver Validate: %v", err)
	}
	if n, err := byValue.Call(ctx, ptrReq{N: 3}); err != nil || n != 3 {
		t.Fatalf("valid: %d %v", n, err)
	}
	if _, err := byPtr.Call(ctx, &ptrReq{N: 11}); errs.CodeOf(err) != "invalid_argument" {
		t.Fatalf("pointer request: %v", err)
	}
	if _, err := byPtr.Call(ctx, nil); errs.CodeOf(err) != "invalid_argument" {
		t.Fatalf("nil pointer request: %v", err)
	}
	if n, err := byPtr.Call(ctx, &ptrReq{N: 4}); err != nil || n != 4 {
		t.Fatalf("valid pointer request: %d %v", n, err)
	}
}

func terminal(context.Context, *middleware.Call) error { return nil }

// same reports whether Wrap added nothing: it returned nil (or next).
func same(a, b middleware.Handler) bool {
	return a == nil || reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer()
}

func TestWrapReturnsNext(t *testing.T) {
	t.Parallel()
	off := false
	on := true
	mw, err := validate.New(validate.Config{Enabled: true, Commands: map[string]validate.CommandConfig{
		"inventory.*":       {Enabled: &off},
		"inventory.reserve": {Enabled: &on}, // lower case, as the config loader gives it
	}})
	if err != nil {
		t.Fatal(err)
	}
	spec := func(name string, req any) *middleware.Spec {
		return &middleware.Spec{Name: name, Request: reflect.TypeOf(req)}
	}
	cases := []struct {
		spec *middleware.Spec
		next bool
	}{
		{spec("orders.Place", plainReq{}), true},         // no Validate method
		{spec("orders.Place", reserveReq{}), false},      // has one
		{spec("inventory.Stock", reserveReq{}), true},    // off for the service
		{spec("inventory.Reserve", reserveReq{}), false}, // back on, most specific wins
		{&middleware.Spec{Name: "x.Y"}, true},            // no request type
	}
	for _, c := range cases {
		if got := same(mw.Wrap(c.spec, terminal), terminal); got != c.next {
			t.Errorf("%s %v: returned next = %v, want %v", c.spec.Name, c.spec.Request, got, c.next)
		}
	}
	disabled, _ := validate.New(validate.Config{})
	if !same(disabled.Wrap(spec("orders.Place", reserveReq{}), terminal), terminal) {
		t.Error("a disabled middleware must return next")
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	_, err := validate.New(validate.Config{Enabled: true, Commands: map[string]validate.CommandConfig{"inventory.": {}}})
	if err == nil || !strings.Contains(err.Error(), `middleware.validate.commands["inventory."]: not a command pattern`) {
		t.Fatalf("err = %v", err)
	}
	for _, ok := range []string{"*", "inventory.*", "inventory.Reserve", "shop.inventory.Reserve"} {
		if err := (validate.Config{Commands: map[string]validate.CommandConfig{ok: {}}}).Validate(); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "inventory.", ".Reserve", "inv*.Reserve", "inventory.Re*", "a b.C"} {
		if err := (validate.Config{Commands: map[string]validate.CommandConfig{bad: {}}}).Validate(); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestConvertWith(t *testing.T) {
	t.Parallel()
	mw, _ := validate.New(validate.DefaultConfig(), validate.ConvertWith(func(err error) *errs.Error {
		return errs.New(errs.KindConflict).WithCause(err)
	}))
	h := mw.Wrap(&middleware.Spec{Name: "a.B", Request: reflect.TypeFor[reserveReq]()}, terminal)
	err := h(context.Background(), &middleware.Call{Request: &reserveReq{Fail: errors.New("x")}})
	if errs.CodeOf(err) != "conflict" {
		t.Fatalf("err = %v", err)
	}
}

func TestChecker(t *testing.T) {
	t.Parallel()
	c := validate.Check().
		That("end", false, "must be after start").
		OneOf("color", "mauve", "red", "green").
		OneOf("size", "m", "s", "m").
		Max("qty", 11, 10).
		MaxLen("name", "日本語", 3)
	want := []errs.FieldViolation{
		{Field: "end", Reason: "must be after start"},
		{Field: "color", Reason: "must be one of red, green", Key: validate.KeyOneOf, Params: map[string]string{"allowed": "red, green"}},
		{Field: "qty", Reason: "must be at most 10", Key: validate.KeyMax, Params: map[string]string{"max": "10"}},
	}
	if !reflect.DeepEqual(c.Violations(), want) {
		t.Fatalf("violations = %v", c.Violations())
	}
	if validate.Check().Err() != nil || validate.Fields() != nil {
		t.Fatal("no violations must give a nil error")
	}
	err := validate.Fields(errs.Field("qty", "must be at least 1"))
	if e, ok := errs.As(err); !ok || e.Message() != "Invalid request: qty must be at least 1." {
		t.Fatalf("Fields: %v", err)
	}
}

func TestNoAllocationsWhenValid(t *testing.T) {
	cat, _ := newCatalog(t, validate.DefaultConfig())
	h, _ := catalog.HandleOf[reserveReq, reserveResp](cat, "inventory.Reserve")
	ctx := context.Background()
	req := reserveReq{SKU: "apple", Qty: 1}
	if n := testing.AllocsPerRun(100, func() { _, _ = h.Call(ctx, req) }); n != 0 {
		t.Fatalf("a valid call allocates %v times", n)
	}
}
