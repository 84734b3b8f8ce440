package balance

import (
	"time"

	"github.com/wegomesh/wego/config"
)

// Policy is how a [Picker] chooses among the nodes it may send to.
type Policy string

// The policies. Each chooses only among nodes that are not ejected.
const (
	// RoundRobin takes the nodes in turn.
	RoundRobin Policy = "round_robin"
	// Random takes a node uniformly at random.
	Random Policy = "random"
	// P2CInFlight draws two distinct nodes at random and takes the one
	// with fewer calls in flight: a node that slows down or hangs
	// accumulates calls and stops being chosen. The default.
	P2CInFlight Policy = "p2c_inflight"
	// P2CEWMA draws two distinct nodes at random and takes the one with
	// the lower peak-EWMA latency multiplied by its calls in flight plus
	// one (as Finagle and linkerd do): the estimate jumps to a slower
	// latency at once and decays toward faster ones — over time, and at
	// least as an average of the last 16 answers would — and a node that
	// is not chosen sees its estimate decay until it is tried again.
	P2CEWMA Policy = "p2c_ewma"
)

// DefaultPolicy is the policy of a Config that names none.
const DefaultPolicy = P2CInFlight

// Defaults of [Ejection].
const (
	DefaultConsecutiveFailures = 5
	DefaultEjectionBase        = time.Second
	DefaultEjectionMax         = 30 * time.Second
	DefaultMaxShare            = 0.5
)

// Decay is the time constant of the P2CEWMA latency estimate: an
// observation weighs e⁻¹ after this long, and the estimate of a node that
// gets no calls falls to a tenth of its value in about 23s. A node that
// answers faster than that forgets a slow answer faster: each faster
// answer moves its estimate by at least a sixteenth of the difference.
const Decay = 10 * time.Second

// Config configures a [Picker]. It is usually a section of a transport's
// configuration (http_client.balance for HTTP routes); [DefaultConfig]
// holds the defaults:
//
//	policy                          p2c_inflight  round_robin, random, p2c_inflight or p2c_ewma
//	ejection.consecutive_failures   5             server faults in a row that eject a node; 0: never eject
//	ejection.base                   1s            the first ejection's length; each one in a row doubles it
//	ejection.max                    30s           the longest ejection
//	ejection.max_share              0.5           the largest share of the nodes ejected at once
type Config struct {
	// Policy chooses among the nodes. Empty means [DefaultPolicy].
	Policy Policy `mapstructure:"policy"`
	// Ejection takes failing nodes out of the choice for a while.
	Ejection Ejection `mapstructure:"ejection"`
}

// Ejection configures outlier ejection. Its zero value ejects nothing.
type Ejection struct {
	// ConsecutiveFailures is the number of server faults in a row (see
	// [Picker.Done]) after which a node is ejected; 0 turns ejection
	// off. Default 5.
	ConsecutiveFailures int `mapstructure:"consecutive_failures"`
	// Base is how long a first ejection lasts; each ejection of the same
	// node that follows a failed probation lasts twice the one before, up
	// to Max. Default 1s.
	Base time.Duration `mapstructure:"base"`
	// Max caps the length of an ejection. Default 30s.
	Max time.Duration `mapstructure:"max"`
	// MaxShare is the largest share of the nodes ejected at once, in
	// [0,1]: at most ⌊nodes × MaxShare⌋, so a single node is never
	// ejected with the default. Default 0.5.
	MaxShare float64 `mapstructure:"max_share"`
}

// DefaultConfig returns the defaults: P2CInFlight, and a node ejected
// after 5 server faults in a row for 1s, doubling up to 30s, with at most
// half of the nodes ejected at once.
func DefaultConfig() Config {
	return Config{
		Policy: DefaultPolicy,
		Ejection: Ejection{
			ConsecutiveFailures: DefaultConsecutiveFailures,
			Base:                DefaultEjectionBase,
			Max:                 DefaultEjectionMax,
			MaxShare:            DefaultMaxShare,
		},
	}
}

// Validate reports the first value of c that cannot work, as a
// [*config.Error] whose key is relative to the section
// ("ejection.max").
func (c Config) Validate() error {
	switch c.Policy {
	case "", RoundRobin, Random, P2CInFlight, P2CEWMA:
	default:
		return config.Errorf("policy", "unknown policy %q (want %s, %s, %s or %s)",
			c.Policy, RoundRobin, Random, P2CInFlight, P2CEWMA)
	}
	e := c.Ejection
	switch {
	case e.ConsecutiveFailures < 0:
		return config.Errorf("ejection.consecutive_failures", "must not be negative, got %d", e.ConsecutiveFailures)
	case e.ConsecutiveFailures == 0:
		return nil // ejection off: the other keys do not matter
	case e.Base <= 0:
		return config.Errorf("ejection.base", "must be positive, got %s", e.Base)
	case e.Max < e.Base:
		return config.Errorf("ejection.max", "must not be shorter than ejection.base (%s), got %s", e.Base, e.Max)
	case !(e.MaxShare >= 0 && e.MaxShare <= 1): // NaN too
		return config.Errorf("ejection.max_share", "must be in [0,1], got %v", e.MaxShare)
	}
	return nil
}
