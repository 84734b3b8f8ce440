package balance_test

import (
	"context"
	"fmt"
	"time"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/transport/balance"
)

// A picker sends calls to the nodes in turn here (round robin, to make
// the output predictable); a node that fails twice in a row is ejected,
// and a canceled call never counts against a node.
func Example() {
	cfg := balance.DefaultConfig()
	cfg.Policy = balance.RoundRobin
	cfg.Ejection.ConsecutiveFailures = 2
	p, err := balance.New(cfg)
	if err != nil {
		panic(err)
	}
	p.Update([]string{"10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"})

	send := func(node string) error {
		switch node {
		case "10.0.0.2:8080":
			return errs.Unavailable() // a server fault
		case "10.0.0.3:8080":
			return context.Canceled // the caller gave up
		}
		return nil
	}
	for range 9 {
		n := p.Pick()
		p.Start(n)
		start := time.Now()
		err := send(n.ID())
		p.Done(n, err, time.Since(start))
		if err != nil {
			fmt.Println(n.ID(), errs.KindOf(err))
		} else {
			fmt.Println(n.ID(), "ok")
		}
	}
	fmt.Println("ejected:", p.Ejected())
	// Output:
	// 10.0.0.1:8080 ok
	// 10.0.0.2:8080 unavailable
	// 10.0.0.3:8080 canceled
	// 10.0.0.1:8080 ok
	// 10.0.0.2:8080 unavailable
	// 10.0.0.3:8080 canceled
	// 10.0.0.1:8080 ok
	// 10.0.0.3:8080 canceled
	// 10.0.0.1:8080 ok
	// ejected: [10.0.0.2:8080]
}
