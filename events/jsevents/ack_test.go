package jsevents

import (
	"encoding/json"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// parseAck reads the acknowledgements the server writes as encoding/json
// does, and refuses every other shape, which then goes through
// encoding/json.
func TestParseAck(t *testing.T) {
	for _, tt := range []struct {
		data string
		want *jetstream.PubAck // nil: not the fast shape
	}{
		{`{"stream":"EVENTS_orders_Placed","seq":42}`, &jetstream.PubAck{Stream: "EVENTS_orders_Placed", Sequence: 42}},
		{`{"stream":"S","domain":"hub","seq":1}`, &jetstream.PubAck{Stream: "S", Domain: "hub", Sequence: 1}},
		{`{"stream":"S","seq":7,"duplicate": true}`, &jetstream.PubAck{Stream: "S", Sequence: 7, Duplicate: true}},
		{`{"stream":"S","seq":7,"duplicate":true}`, &jetstream.PubAck{Stream: "S", Sequence: 7, Duplicate: true}},
		{`{"stream":"S","seq":18446744073709551615}`, nil}, // 20 digits
		{`{"stream":"S","seq":1844674407370955161}`, &jetstream.PubAck{Stream: "S", Sequence: 1844674407370955161}},
		{`{"stream":"","seq":1}`, nil},
		{`{"stream":"S\"x","seq":1}`, nil},
		{`{"stream":"S","seq":}`, nil},
		{`{"stream":"S","seq":1,"batch":"b","count":2}`, nil},
		{`{"stream":"S","seq":1,"val":"3"}`, nil},
		{`{"error":{"code":503,"err_code":10039,"description":"jetstream not enabled"}}`, nil},
		{`{"stream":"S","seq":1} `, nil},
		{`{"stream":"S","seq":1`, nil},
		{``, nil},
	} {
		stream, domain, seq, dup, ok := parseAck([]byte(tt.data))
		if ok != (tt.want != nil) {
			t.Errorf("%s: ok %v", tt.data, ok)
			continue
		}
		if !ok {
			continue
		}
		got := jetstream.PubAck{Stream: string(stream), Domain: string(domain), Sequence: seq, Duplicate: dup}
		if got != *tt.want {
			t.Errorf("%s: %+v, want %+v", tt.data, got, *tt.want)
		}
		var std jetstream.PubAck
		if err := json.Unmarshal([]byte(tt.data), &std); err != nil || std != got {
			t.Errorf("%s: encoding/json reads %+v (%v), parseAck %+v", tt.data, std, err, got)
		}
	}
}

// A synchronous publish allocates nothing of its own to read the
// acknowledgement.
func BenchmarkParseAck(b *testing.B) {
	data := []byte(`{"stream":"EVENTS_orders_Placed","seq":123456}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, _, ok := parseAck(data); !ok {
			b.Fatal("not parsed")
		}
	}
}
