package fw

import (
	"context"
	"errors"
	"fmt"

	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/events"
)

// ErrEventsNotLinked is wrapped by the error of [New] when events.backend
// names a backend whose package the program does not import; the message
// names the import to add.
var ErrEventsNotLinked = errors.New("events backend not linked into this program")

// eventsKinds names the packages that register the events backends fw
// does not link itself.
var eventsKinds = linkable{key: "events.backend", noun: "events backend", err: ErrEventsNotLinked, linked: events.Kinds,
	packages: map[string]string{
		"nats":      "github.com/wegomesh/wego/events/natsevents",
		"jetstream": "github.com/wegomesh/wego/events/jsevents",
	}}

// OnDeadLetter sets a function that receives each dead letter of the
// application's subscribers (see events.OnDeadLetter), after the bus has
// logged it.
func OnDeadLetter(fn func(ctx context.Context, dl *events.DeadLetter)) Option {
	return optionFunc(func(o *options) { o.onDeadLetter = fn })
}

// Events returns the application's event bus: the backend that the events
// section names (in memory by default) and the subscribers of the
// application's catalog. It is made by [New], runs from [App.Start], which
// starts it after the engine and the store and before the transports,
// and stops after the transports, delivering what it holds.
func (a *App) Events() *events.Bus { return a.bus }

// readEvents reads and checks the events section.
func (a *App) readEvents() error {
	cfg, err := config.GetWithDefaults(a.cfg, events.Section, events.DefaultConfig())
	if err != nil {
		return err
	}
	a.eventsCfg = cfg
	return nil
}

// eventsNeedEngine reports whether the events backend needs the engine
// named name.
func (a *App) eventsNeedEngine(name string) bool {
	return name == "nats" && (a.eventsCfg.Backend == "nats" || a.eventsCfg.Backend == "jetstream")
}

// makeEvents makes, without starting it, the bus of the events section.
func (a *App) makeEvents() error {
	cfg := a.eventsCfg
	f, ok := events.FactoryOf(cfg.Backend)
	if !ok {
		return a.notLinked(eventsKinds, cfg.Backend)
	}
	var engine any
	if a.engine != nil {
		engine = a.engine
	}
	b, err := f(cfg, engine, a.logger)
	if err != nil {
		if _, ok := errors.AsType[*config.Error](err); ok {
			return config.Under(events.Section, err)
		}
		return &config.Error{Key: "events.backend", File: a.cfg.File(), Err: err}
	}
	a.bus = events.NewBus(a.cat, b, events.WithLogger(a.logger), events.WithConfig(cfg), events.OnDeadLetter(a.opts.onDeadLetter),
		events.WithPropagators(a.eventPropagators()...))
	return nil
}

// startEvents subscribes the catalog's subscribers, after the engine and
// the store, before the transports.
func (a *App) startEvents(ctx context.Context) error {
	if err := a.bus.Start(ctx); err != nil {
		return fmt.Errorf("fw: start events: %w", err)
	}
	return nil
}

// stopEvents stops the bus after the transports, so that the events their
// last requests published are delivered, and before the registry, the
// store and the engine that subscribers use.
func (a *App) stopEvents(ctx context.Context) error {
	if a.bus == nil {
		return nil
	}
	return a.bus.Stop(ctx)
}
