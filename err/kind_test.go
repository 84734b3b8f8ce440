package errs_test

import (
	"net/http"
	"testing"

	errs "github.com/wegomesh/wego/err"
)

func TestKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind        errs.Kind
		code        string
		status      int
		serverFault bool
		transient   bool
	}{
		{errs.KindInvalidArgument, "invalid_argument", http.StatusBadRequest, false, false},
		{errs.KindNotFound, "not_found", http.StatusNotFound, false, false},
		{errs.KindAlreadyExists, "already_exists", http.StatusConflict, false, false},
		{errs.KindConflict, "conflict", http.StatusConflict, false, false},
		{errs.KindUnauthenticated, "unauthenticated", http.StatusUnauthorized, false, false},
		{errs.KindPermissionDenied, "permission_denied", http.StatusForbidden, false, false},
		{errs.KindResourceExhausted, "resource_exhausted", http.StatusTooManyRequests, false, false},
		{errs.KindCanceled, "canceled", errs.StatusClientClosedRequest, false, false},
		{errs.KindInternal, "internal", http.StatusInternalServerError, true, false},
		{errs.KindUnavailable, "unavailable", http.StatusServiceUnavailable, true, true},
		{errs.KindDeadlineExceeded, "deadline_exceeded", http.StatusGatewayTimeout, true, false},
	}
	if got := errs.Kinds(); len(got) != len(tests) {
		t.Fatalf("Kinds() has %d kinds, the table %d", len(got), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			k := tt.kind
			if errs.Kinds()[i] != k {
				t.Errorf("Kinds()[%d] = %v, want %v (declaration order)", i, errs.Kinds()[i], k)
			}
			if !k.Valid() {
				t.Errorf("Valid() = false")
			}
			if k.Code() != tt.code || k.String() != tt.code {
				t.Errorf("Code() = %q, String() = %q, want %q", k.Code(), k.String(), tt.code)
			}
			if k.Status() != tt.status {
				t.Errorf("Status() = %d, want %d", k.Status(), tt.status)
			}
			if k.ServerFault() != tt.serverFault {
				t.Errorf("ServerFault() = %v, want %v", k.ServerFault(), tt.serverFault)
			}
			if k.Transient() != tt.transient {
				t.Errorf("Transient() = %v, want %v", k.Transient(), tt.transient)
			}
			if got, ok := errs.KindFromCode(tt.code); !ok || got != k {
				t.Errorf("KindFromCode(%q) = %v, %v", tt.code, got, ok)
			}
			// Every kind's own code is defined, with a default message.
			d, ok := errs.Lookup(tt.code)
			if !ok || d.Kind() != k || d.Status() != tt.status || d.Message() == "" {
				t.Errorf("Lookup(%q) = %+v, %v", tt.code, d, ok)
			}
			e := errs.New(k)
			if e.Kind() != k || e.Code() != tt.code || e.Status() != tt.status || e.Message() != d.Message() {
				t.Errorf("New(%v) = kind %v code %q status %d message %q", k, e.Kind(), e.Code(), e.Status(), e.Message())
			}
		})
	}
}

func TestInvalidKind(t *testing.T) {
	t.Parallel()
	for _, k := range []errs.Kind{0, 12, 200, 255} {
		if k.Valid() {
			t.Errorf("Kind(%d).Valid() = true", k)
		}
		if k.Status() != http.StatusInternalServerError || k.Code() != "internal" {
			t.Errorf("Kind(%d): status %d code %q, want 500 internal", k, k.Status(), k.Code())
		}
		if k.ServerFault() || k.Transient() {
			t.Errorf("Kind(%d) is a server fault or transient", k)
		}
		if e := errs.New(k); e.Kind() != errs.KindInternal {
			t.Errorf("New(Kind(%d)).Kind() = %v, want internal", k, e.Kind())
		}
	}
	for _, code := range []string{"", "NOT_FOUND", "not_found ", "nope", "invalid_argument.fields"} {
		if k, ok := errs.KindFromCode(code); ok {
			t.Errorf("KindFromCode(%q) = %v, true", code, k)
		}
	}
}

func TestKindConstructors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		e    *errs.Error
		kind errs.Kind
	}{
		{errs.NotFound(), errs.KindNotFound},
		{errs.AlreadyExists(), errs.KindAlreadyExists},
		{errs.Conflict(), errs.KindConflict},
		{errs.Unauthenticated(), errs.KindUnauthenticated},
		{errs.PermissionDenied(), errs.KindPermissionDenied},
		{errs.ResourceExhausted(), errs.KindResourceExhausted},
		{errs.Canceled(), errs.KindCanceled},
		{errs.Internal(), errs.KindInternal},
		{errs.Unavailable(), errs.KindUnavailable},
		{errs.DeadlineExceeded(), errs.KindDeadlineExceeded},
		{errs.InvalidArgument(), errs.KindInvalidArgument},
	}
	for _, tt := range tests {
		if tt.e.Kind() != tt.kind || tt.e.Code() != tt.kind.Code() || tt.e.MessageKey() != tt.kind.Code() {
			t.Errorf("%v: got kind %v code %q key %q", tt.kind, tt.e.Kind(), tt.e.Code(), tt.e.MessageKey())
		}
		if tt.e.Cause() != nil || tt.e.Params() != nil || tt.e.Fields() != nil {
			t.Errorf("%v: unexpected cause, params or fields", tt.kind)
		}
	}
	e := errs.NotFound(errs.P("id", 42))
	if v, ok := e.Param("id"); !ok || v != "42" {
		t.Errorf(`NotFound(P("id", 42)).Param("id") = %q, %v`, v, ok)
	}
}

func TestKindFromStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   errs.Kind
	}{
		{400, errs.KindInvalidArgument},
		{401, errs.KindUnauthenticated},
		{403, errs.KindPermissionDenied},
		{404, errs.KindNotFound},
		{405, errs.KindInvalidArgument},
		{408, errs.KindDeadlineExceeded},
		{409, errs.KindConflict},
		{412, errs.KindConflict},
		{413, errs.KindInvalidArgument},
		{415, errs.KindInvalidArgument},
		{418, errs.KindInvalidArgument}, // unknown 4xx
		{422, errs.KindInvalidArgument},
		{429, errs.KindResourceExhausted},
		{431, errs.KindInvalidArgument},
		{499, errs.KindCanceled},
		{500, errs.KindInternal},
		{501, errs.KindInternal},
		{502, errs.KindUnavailable},
		{503, errs.KindUnavailable},
		{504, errs.KindDeadlineExceeded},
		{599, errs.KindInternal}, // unknown 5xx
		{200, errs.KindInternal},
		{0, errs.KindInternal},
		{-1, errs.KindInternal},
	}
	for _, tt := range tests {
		if got := errs.KindFromStatus(tt.status); got != tt.want {
			t.Errorf("KindFromStatus(%d) = %v, want %v", tt.status, got, tt.want)
		}
	}
	// Every kind's status maps back to a kind with that status.
	for _, k := range errs.Kinds() {
		if got := errs.KindFromStatus(k.Status()); got.Status() != k.Status() {
			t.Errorf("KindFromStatus(%d) = %v (status %d)", k.Status(), got, got.Status())
		}
	}
}
