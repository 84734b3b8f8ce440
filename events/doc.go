// Package events is typed publish and subscribe between WeGO services,
// through the same middleware chains as commands.
//
// A service declares a topic of a Go type, usually in its API package, and
// publishes values of it; another registers a subscriber, a typed function
// that receives them:
//
//	// orders/api
//	var Placed = events.NewTopic[OrderPlaced]("orders.OrderPlaced")
//
//	// orders/service, in a command
//	err := api.Placed.Publish(ctx, api.OrderPlaced{OrderID: id})
//
//	// shipping/service
//	var OnOrderPlaced = events.Subscribe("shipping.OnOrderPlaced", api.Placed, onOrderPlaced)
//
//	func onOrderPlaced(ctx context.Context, e api.OrderPlaced) error { ... }
//
// # Catalog entries
//
// Topics and subscribers are entries of the catalog, of the kind
// middleware.Event. Publishing is a call of the topic's entry: its client
// chain runs, then its route, which hands the event, encoded as JSON, to
// the [Bus] that the context's catalog runs ([BusDep]). A delivery is the
// serving of the subscriber's entry: its server chain runs, then the
// function. The publisher's request id becomes the event's correlation id
// and the request id of its deliveries, in their log lines and audit
// records. Tests replace a topic or a subscriber like a command
// ([Topic.Command], [Subscriber.Command]); transports do not serve them.
//
// # Bus and backends
//
// A [Bus] runs the subscribers of a catalog on a [Backend]: the
// in-process [Memory] (the default; synchronous for tests), NATS core
// (package events/natsevents) or JetStream (package events/jsevents),
// registered by kind with [RegisterKind]. An application (package fw) makes its bus from the
// events section ([Config]), starts it before its transports and stops
// it, draining, after them. Every backend settles a delivery by the same
// rule ([OutcomeOf], [Settle]): nil acknowledges; an invalid_argument
// error — the subscriber's, or a payload that does not decode — is
// permanent and dead-lettered at once; any other error, a panic included,
// is retried after a growing back-off, up to the subscriber's maximum of
// deliveries, then dead-lettered ([DeadLetter]).
//
// # Publishers' credentials
//
// A [Propagator] of the bus ([WithPropagators]) writes the publisher's
// credential into each event published ([Message.Authorization], carried
// in the Authorization header by the NATS backends) and its account for
// a delivery in process ([Message.Account]), and puts them in each
// delivery's context, with the time the backend stored the event
// ([Delivery.Stored]). fw adds the one of the service identity when auth
// is on or the deployable has one, and the auth middleware checks each
// delivery by it on the subscriber's server chain; a refusal is an error
// that says it is permanent ([OutcomeOf]): the event is dead-lettered at
// once. Without propagators, nothing is added and nothing costs more.
//
// # AsyncAPI
//
// [AsyncAPI] describes the topics a deployable publishes and receives as
// an AsyncAPI 3.0 document, with the payloads' JSON Schemas; the HTTP
// transport serves it at GET /asyncapi.json.
package events
