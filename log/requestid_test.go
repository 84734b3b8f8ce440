package log_test

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/wegomesh/wego/log"
)

func TestNewRequestID(t *testing.T) {
	t.Parallel()
	seen := make(map[string]bool)
	for range 1000 {
		id := log.NewRequestID()
		if id.IsZero() {
			t.Fatal("NewRequestID returned the zero id")
		}
		s := id.String()
		u, err := uuid.Parse(s)
		if err != nil {
			t.Fatalf("NewRequestID().String() = %q, not a UUID: %v", s, err)
		}
		if u.Version() != 4 || u.Variant() != uuid.RFC4122 {
			t.Fatalf("NewRequestID() = %s: version %d variant %s, want 4 and RFC4122", s, u.Version(), u.Variant())
		}
		if u.String() != s {
			t.Fatalf("NewRequestID().String() = %q, want canonical %q", s, u.String())
		}
		if seen[s] {
			t.Fatalf("NewRequestID returned %s twice", s)
		}
		seen[s] = true
		if got := string(id.AppendTo([]byte("x="))); got != "x="+s {
			t.Fatalf("AppendTo = %q, want %q", got, "x="+s)
		}
	}
}

func TestRequestIDZero(t *testing.T) {
	t.Parallel()
	var id log.RequestID
	if !id.IsZero() {
		t.Error("zero RequestID: IsZero() = false")
	}
	if s := id.String(); s != "" {
		t.Errorf("zero RequestID: String() = %q, want empty", s)
	}
	if b := id.AppendTo(nil); len(b) != 0 {
		t.Errorf("zero RequestID: AppendTo(nil) = %q, want empty", b)
	}
}

func TestParseRequestID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		wantErr string // substring of the error; "" means valid
	}{
		{name: "uuid", in: "0f8fad5b-d9cb-469f-a165-70867728950e"},
		{name: "one char", in: "a"},
		{name: "all allowed", in: "AZaz09._:-"},
		{name: "max length", in: strings.Repeat("x", 128)},
		{name: "empty", in: "", wantErr: "empty"},
		{name: "too long", in: strings.Repeat("x", 129), wantErr: "129 bytes long"},
		{name: "10 KB", in: strings.Repeat("a", 10<<10), wantErr: "10240 bytes long"},
		{name: "space", in: "a b", wantErr: "byte 1"},
		{name: "newline", in: "abc\ninjected", wantErr: "byte 3"},
		{name: "NUL", in: "\x00", wantErr: "byte 0"},
		{name: "DEL", in: "a\x7f", wantErr: "byte 1"},
		{name: "unicode", in: "idé", wantErr: "byte 2"},
		{name: "emoji", in: "🙂", wantErr: "byte 0"},
		{name: "invalid utf-8", in: "ab\xff", wantErr: "byte 2"},
		{name: "slash", in: "a/b", wantErr: "byte 1"},
		{name: "quote", in: `a"b`, wantErr: "byte 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id, err := log.ParseRequestID(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseRequestID(%q) error: %v", tt.in, err)
				}
				if id.String() != tt.in || id.IsZero() {
					t.Fatalf("ParseRequestID(%q) = %q (zero %t)", tt.in, id, id.IsZero())
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseRequestID(%q) = %q, want an error", tt.in, id)
			}
			if !id.IsZero() {
				t.Errorf("ParseRequestID(%q) returned non-zero id %q with an error", tt.in, id)
			}
			var ie *log.InvalidRequestIDError
			if !errors.As(err, &ie) {
				t.Fatalf("ParseRequestID(%q) error %T, want *log.InvalidRequestIDError", tt.in, err)
			}
			if ie.Len != len(tt.in) {
				t.Errorf("Len = %d, want %d", ie.Len, len(tt.in))
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantErr) {
				t.Errorf("error %q does not contain %q", msg, tt.wantErr)
			}
			if len(msg) > 200 {
				t.Errorf("error message is %d bytes long, want it truncated: %q", len(msg), msg)
			}
			if !utf8.ValidString(msg) || strings.ContainsAny(msg, "\x00\n\x7f") {
				t.Errorf("error message %q has control characters or invalid UTF-8", msg)
			}
		})
	}
}

func TestInvalidRequestIDErrorTruncatesAtRuneBoundary(t *testing.T) {
	t.Parallel()
	in := strings.Repeat("é", 100) // 2 bytes each; 32 is a boundary, 31 is not
	_, err := log.ParseRequestID("x" + in)
	var ie *log.InvalidRequestIDError
	if !errors.As(err, &ie) {
		t.Fatalf("error %T, want *log.InvalidRequestIDError", err)
	}
	if !utf8.ValidString(ie.Prefix) || len(ie.Prefix) > 32 || !strings.HasPrefix("x"+in, ie.Prefix) {
		t.Errorf("Prefix = %q, want a valid UTF-8 prefix of at most 32 bytes", ie.Prefix)
	}
	if !strings.Contains(err.Error(), `..."`) && !strings.Contains(err.Error(), `"...`) {
		t.Errorf("error %q does not mark the truncation", err)
	}
}

func TestRequestIDText(t *testing.T) {
	t.Parallel()
	gen := log.NewRequestID()
	parsed, _ := log.ParseRequestID("req-1")
	for _, id := range []log.RequestID{gen, parsed, {}} {
		b, err := json.Marshal(struct {
			ID log.RequestID `json:"id"`
		}{id})
		if err != nil {
			t.Fatal(err)
		}
		want := `{"id":"` + id.String() + `"}`
		if string(b) != want {
			t.Errorf("json.Marshal = %s, want %s", b, want)
		}
		var back struct {
			ID log.RequestID `json:"id"`
		}
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", b, err)
		}
		if back.ID.String() != id.String() {
			t.Errorf("round trip of %q gave %q", id, back.ID)
		}
	}
	var id log.RequestID
	if err := id.UnmarshalText([]byte("bad id")); err == nil {
		t.Error(`UnmarshalText("bad id") succeeded`)
	}
}

func TestRequestIDAllocs(t *testing.T) {
	// Not parallel: AllocsPerRun measures the whole process.
	var id log.RequestID
	n := testing.AllocsPerRun(1000, func() { id = log.NewRequestID() })
	if n != 0 {
		t.Errorf("NewRequestID: %v allocs, want 0", n)
	}
	var buf [64]byte
	if n := testing.AllocsPerRun(1000, func() { _ = id.AppendTo(buf[:0]) }); n != 0 {
		t.Errorf("AppendTo: %v allocs, want 0", n)
	}
	s := "0f8fad5b-d9cb-469f-a165-70867728950e"
	if n := testing.AllocsPerRun(1000, func() { id, _ = log.ParseRequestID(s) }); n != 0 {
		t.Errorf("ParseRequestID: %v allocs, want 0", n)
	}
}

var allowedID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

func FuzzParseRequestID(f *testing.F) {
	for _, s := range []string{"", "a", "req-1", "0f8fad5b-d9cb-469f-a165-70867728950e", "a b", "\x00", "é", strings.Repeat("x", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := log.ParseRequestID(s)
		if valid := allowedID.MatchString(s); valid != (err == nil) {
			t.Fatalf("ParseRequestID(%q): error %v, but the rules say valid=%t", s, err, valid)
		}
		if err != nil {
			if msg := err.Error(); len(msg) > 250 || !utf8.ValidString(msg) {
				t.Fatalf("ParseRequestID(%q): bad error message %q", s, msg)
			}
			return
		}
		if id.String() != s {
			t.Fatalf("ParseRequestID(%q).String() = %q", s, id)
		}
		if string(id.AppendTo(nil)) != s {
			t.Fatalf("ParseRequestID(%q).AppendTo = %q", s, id.AppendTo(nil))
		}
		again, err := log.ParseRequestID(id.String())
		if err != nil || again != id {
			t.Fatalf("re-parsing %q: %v, %v", s, again, err)
		}
	})
}

var sinkID log.RequestID

func BenchmarkNewRequestID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkID = log.NewRequestID()
	}
}

func BenchmarkNewRequestIDParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var id log.RequestID
		for pb.Next() {
			id = log.NewRequestID()
		}
		_ = id
	})
}

func BenchmarkRequestIDAppendTo(b *testing.B) {
	id := log.NewRequestID()
	var buf [64]byte
	b.ReportAllocs()
	for b.Loop() {
		_ = id.AppendTo(buf[:0])
	}
}

func BenchmarkParseRequestID(b *testing.B) {
	s := "0f8fad5b-d9cb-469f-a165-70867728950e"
	b.ReportAllocs()
	for b.Loop() {
		sinkID, _ = log.ParseRequestID(s)
	}
}
