// Package balance chooses the node of each call on the caller's side, for
// remote routes that know their nodes: HTTP routes to several base URLs or
// to discovered nodes, NATS routes over per-instance subjects. It sees
// load and health, which a server-side queue or a DNS round robin cannot:
// a node that slows down stops being chosen, and one that keeps failing is
// ejected for a while.
//
// A [Picker] holds a set of nodes, identified by strings (a host:port, a
// subject), which [Picker.Update] replaces when discovery changes it. A
// call asks [Picker.Pick] for a node, tells [Picker.Start] when it is sent
// and [Picker.Done] how it ended:
//
//	n := p.Pick()
//	if n == nil {
//		return errNoNode
//	}
//	p.Start(n)
//	start := time.Now()
//	err := send(ctx, n.ID(), req)
//	p.Done(n, err, time.Since(start))
//
// Pick neither allocates, nor reads the clock, nor takes a lock; Start
// and Done are a few atomic operations, and take a lock only when a node
// is ejected or readmitted. Only [P2CEWMA] reads the latency given to
// Done: with another policy a caller need not measure it.
//
// # Policies
//
// [P2CInFlight], the default, draws two nodes at random and takes the one
// with fewer calls in flight ("power of two choices"): a node that hangs
// collects calls in flight and stops being chosen, while the randomness
// keeps callers that share no state from all choosing the same node.
// [P2CEWMA] weighs the two by their peak-EWMA latency times their calls in
// flight plus one, as Finagle and linkerd do: a slower answer raises a
// node's estimate at once, faster ones lower it gradually (each by at
// least a sixteenth of the difference, so that a busy node forgets one
// slow answer within a few dozen calls, not seconds), and the
// estimate of a node that is not chosen decays (time constant [Decay])
// until it is tried again. A node with no latency observed yet costs
// nothing, so a new node is chosen by the next calls, one call at a time
// until it answers. [RoundRobin] and [Random] ignore load.
//
// # Outlier ejection
//
// Only server faults count against a node ([errs.Kind.ServerFault]:
// internal, unavailable, deadline_exceeded). A canceled call never does:
// the caller gave up, the node did nothing wrong. Client errors
// (invalid_argument, not_found, ...) show that the node answers.
//
// After ejection.consecutive_failures server faults in a row a node is
// ejected: no call chooses it for ejection.base (1s), after which it is
// readmitted on probation. The first outcome on probation decides: an
// answer closes the probation, a fault ejects the node again for twice as
// long, up to ejection.max (30s). At most ⌊nodes × ejection.max_share⌋
// nodes are ejected at once (half by default, so a lone node never is);
// a node that reaches the threshold beyond that stays in the set and is
// ejected at its next fault if room was made. When every node is ejected,
// calls go to all of them.
//
// # Configuration
//
// A [Config] is a section of the transport that uses the picker
// (http_client.balance for HTTP routes):
//
//	policy                          p2c_inflight  round_robin, random, p2c_inflight or p2c_ewma
//	ejection.consecutive_failures   5             server faults in a row that eject a node; 0: never eject
//	ejection.base                   1s            the first ejection's length; each one in a row doubles it
//	ejection.max                    30s           the longest ejection
//	ejection.max_share              0.5           the largest share of the nodes ejected at once
//
// [Config.Validate] reports a wrong value with its key relative to the
// section; the transport puts it under its own (config.Under).
package balance
