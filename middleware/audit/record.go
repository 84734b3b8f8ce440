package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/wegomesh/wego/log"
)

// Redacted replaces the value of a secret request field in a record.
const Redacted = "[REDACTED]"

// Outcomes of a record besides error codes.
const (
	// OutcomeOK is the outcome of a call that succeeded.
	OutcomeOK = "ok"
	// OutcomeStarted is the outcome of a record written before the command
	// runs (phase "before").
	OutcomeStarted = "started"
)

// Phases of a record.
const (
	PhaseBefore = "before"
	PhaseAfter  = "after"
)

// Record is one audit record: who called which command, when, with which
// audited request fields, and how it ended. Its JSON form is one line of a
// [FileSink].
type Record struct {
	// Time is when the call started, in UTC. JSON renders it in RFC 3339
	// with nanoseconds.
	Time time.Time `json:"time"`
	// RequestID is the call's request id; zero when the context has none.
	RequestID log.RequestID `json:"request_id,omitzero"`
	// Principal is who made the call, when an authentication middleware
	// found it (see [WithPrincipal] and [ContextWithPrincipal]).
	Principal string `json:"principal,omitempty"`
	// Command is the command's name, "service.Operation".
	Command string `json:"command"`
	// Side is "server" or "client".
	Side string `json:"side"`
	// Phase is "after" for a record of a finished call and "before" for a
	// record written before the command runs.
	Phase string `json:"phase"`
	// Outcome is "ok", the error's code (errs.CodeOf), or "started" in a
	// record of phase "before".
	Outcome string `json:"outcome"`
	// Duration is how long the call took; zero in phase "before".
	Duration time.Duration `json:"duration_ns"`
	// Request holds the request fields chosen with the tag audit:"include",
	// secret ones redacted.
	Request Fields `json:"request,omitempty"`
}

// Clone returns a copy of r that stays valid after [Sink.Write] returns.
// Field values are copied shallowly: they are scalars or redacted strings.
func (r *Record) Clone() *Record {
	c := *r
	c.Request = append(Fields(nil), r.Request...)
	return &c
}

// Field is one audited request field.
type Field struct {
	// Name is the field's JSON name, or its Go name when it has none.
	Name string
	// Value is a copy of the field's value, or [Redacted].
	Value any
}

// Fields are the audited fields of a request, in declaration order. They
// encode as a JSON object and a zap object.
type Fields []Field

// MarshalJSON encodes the fields as one JSON object.
func (fs Fields) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.Name)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(f.Value)
		if err != nil {
			v, _ = json.Marshal("[UNENCODABLE]")
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// MarshalLogObject adds the fields to a zap object.
func (fs *Fields) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	for _, f := range *fs {
		switch v := f.Value.(type) {
		case string:
			enc.AddString(f.Name, v)
		case int:
			enc.AddInt(f.Name, v)
		case int64:
			enc.AddInt64(f.Name, v)
		case bool:
			enc.AddBool(f.Name, v)
		case float64:
			enc.AddFloat64(f.Name, v)
		default:
			if err := enc.AddReflected(f.Name, v); err != nil {
				enc.AddString(f.Name, "[UNENCODABLE]")
			}
		}
	}
	return nil
}

// Get returns the value of the named field.
func (fs Fields) Get(name string) (any, bool) {
	for _, f := range fs {
		if f.Name == name {
			return f.Value, true
		}
	}
	return nil, false
}

// extractor copies the audited fields out of a request. It is built once
// per command from the request's type.
type extractor struct {
	typ    reflect.Type
	fields []exField
}

type exField struct {
	name   string
	index  int
	secret bool
}

// newExtractor returns the extractor of request type t, or nil when no
// field of t is audited. Only the top-level fields of a struct (or of the
// struct a pointer type points to) are considered.
func newExtractor(t reflect.Type) *extractor {
	if t == nil {
		return nil
	}
	st := t
	if st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	if st.Kind() != reflect.Struct {
		return nil
	}
	x := &extractor{typ: t}
	for i := range st.NumField() {
		sf := st.Field(i)
		if !sf.IsExported() {
			continue
		}
		at := sf.Tag.Get("audit")
		include, secret := hasOption(at, "include"), hasOption(at, "secret")
		if !include && !secret {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			name = sf.Name
		}
		x.fields = append(x.fields, exField{name: name, index: i,
			secret: secret || hasOption(sf.Tag.Get("wego"), "secret")})
	}
	if len(x.fields) == 0 {
		return nil
	}
	return x
}

func hasOption(tag, opt string) bool {
	for tag != "" {
		var o string
		o, tag, _ = strings.Cut(tag, ",")
		if strings.TrimSpace(o) == opt {
			return true
		}
	}
	return false
}

// extract fills dst, which has room for the fields, from req, a pointer to
// the request as a Call holds it. The values are copies, so that the
// record does not keep the pooled request.
func (x *extractor) extract(dst Fields, req any) Fields {
	rv := reflect.ValueOf(req)
	if rv.Kind() == reflect.Pointer && rv.Type().Elem() == x.typ {
		if rv.IsNil() {
			return dst
		}
		rv = rv.Elem()
	}
	if rv.Type() != x.typ {
		return dst
	}
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return dst
		}
		rv = rv.Elem()
	}
	for _, f := range x.fields {
		if f.secret {
			dst = append(dst, Field{Name: f.name, Value: Redacted})
			continue
		}
		dst = append(dst, Field{Name: f.name, Value: rv.Field(f.index).Interface()})
	}
	return dst
}

// Principal context.

type principalKey struct{}

type principalCtx struct {
	context.Context
	p string
}

func (c *principalCtx) Value(key any) any {
	if _, ok := key.(principalKey); ok {
		return c
	}
	return c.Context.Value(key)
}

// ContextWithPrincipal returns a copy of ctx that carries the principal p,
// the authenticated caller, for audit records. Authentication middleware
// calls it; it costs one allocation. An empty p leaves ctx unchanged.
func ContextWithPrincipal(ctx context.Context, p string) context.Context {
	if p == "" {
		return ctx
	}
	return &principalCtx{Context: ctx, p: p}
}

// PrincipalFrom returns the principal carried by ctx, and whether there is
// one. It does not allocate.
func PrincipalFrom(ctx context.Context) (string, bool) {
	if c, ok := ctx.Value(principalKey{}).(*principalCtx); ok {
		return c.p, true
	}
	return "", false
}

var _ zapcore.ObjectMarshaler = (*Fields)(nil)
