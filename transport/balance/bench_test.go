package balance_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/transport/balance"
)

var sinkNode *balance.Node

// BenchmarkPick measures choosing a node among 8, against a baseline of
// the same run: a bare atomic round-robin counter over a slice. "pick"
// is Pick alone; "call" adds Start and Done, what a call pays in all;
// "ejected" has one node of the 8 ejected.
func BenchmarkPick(b *testing.B) {
	ids := make([]string, 8)
	for i := range ids {
		ids[i] = fmt.Sprint("10.0.0.", i, ":8080")
	}
	b.Run("baseline", func(b *testing.B) {
		nodes := make([]*balance.Node, len(ids))
		var next atomic.Uint64
		b.ReportAllocs()
		for b.Loop() {
			sinkNode = nodes[(next.Add(1)-1)%uint64(len(nodes))]
		}
	})
	for _, policy := range policies {
		newP := func(b *testing.B, eject bool) *balance.Picker {
			p, err := balance.New(withPolicy(policy))
			if err != nil {
				b.Fatal(err)
			}
			p.Update(ids)
			for _, id := range ids {
				n := p.Lookup(id)
				p.Start(n)
				p.Done(n, nil, time.Millisecond)
			}
			if eject {
				n := p.Lookup(ids[3])
				for range balance.DefaultConsecutiveFailures {
					p.Start(n)
					p.Done(n, errs.Unavailable(), time.Millisecond)
				}
			}
			return p
		}
		b.Run(string(policy)+"/pick", func(b *testing.B) {
			p := newP(b, false)
			b.ReportAllocs()
			for b.Loop() {
				sinkNode = p.Pick()
			}
		})
		b.Run(string(policy)+"/ejected", func(b *testing.B) {
			p := newP(b, true)
			b.ReportAllocs()
			for b.Loop() {
				sinkNode = p.Pick()
			}
		})
		b.Run(string(policy)+"/call", func(b *testing.B) {
			p := newP(b, false)
			b.ReportAllocs()
			for b.Loop() {
				n := p.Pick()
				p.Start(n)
				p.Done(n, nil, time.Millisecond)
			}
		})
		b.Run(string(policy)+"/call-parallel", func(b *testing.B) {
			p := newP(b, false)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := p.Pick()
					p.Start(n)
					p.Done(n, nil, time.Millisecond)
				}
			})
		})
	}
}
