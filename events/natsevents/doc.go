// Package natsevents carries WeGO's events over NATS, on the connection of
// the NATS engine (package engine). Importing it registers the backend
// kind "nats" with package events: NATS core, at most once ([Core]).
//
//	import _ "github.com/wegomesh/wego/events/natsevents"
//
//	events:
//	  backend: nats
//
// # Subjects and permissions
//
// A topic's events travel on the subject of the topic's name
// ("orders.OrderPlaced"), and each subscriber group reads it in a queue
// group named after the group. The subject is the contract: any client
// that may publish on it can publish events that subscribers will take
// for the publisher's, and any client that may subscribe to it reads
// them. In a shared NATS account, give each service's user publish
// permission on the subjects of its own topics only (orders:
// "orders.OrderPlaced"), and subscribe permission, with its queue groups,
// on the topics it reads. Topic names share the catalog's namespace with
// command names, which the NATS transport serves as subjects too, so a
// topic and a command never share a subject.
//
// Headers carry an event's metadata: X-Correlation-Id (the publisher's
// request id), Content-Type (application/json) and, when the publisher
// gave one, Nats-Msg-Id (its message id).
package natsevents
