// Package jsevents carries WeGO's events on NATS JetStream, on the
// connection of the NATS engine (package engine): at least once and
// durable. Importing it registers the backend kind "jetstream" with
// package events ([Backend]).
//
//	import _ "github.com/wegomesh/wego/events/jsevents"
//
//	events:
//	  backend: jetstream
//	  jetstream: {replicas: 1, storage: file, max_age: 168h, ack_wait: 30s}
//
// # Streams
//
// Each topic is stored in a stream of its own, named after it
// ([StreamName]: "EVENTS_orders_OrderPlaced"), whose one subject is the
// topic's name, with limits retention: every subscriber group reads every
// event, and the stream keeps events for max_age (or until max_bytes),
// delivered or not, for replay and for groups that are away. A stream per
// topic keeps each topic's settings its own and lets services make their
// streams without editing a shared one. The backend makes the stream on
// the first publish or subscription of its topic. A stream of that name
// that exists is brought to the configuration where a stream may change
// (max_age, max_bytes, duplicate_window, replicas, each change logged);
// one with another storage or retention, or without the topic among its
// subjects, fails with a [*ConflictError] that names it, the setting and
// what to do. When no stream has the name but another one takes the
// topic's subject — an operator's "ORDERS" on orders.OrderPlaced and
// orders.OrderShipped — that stream is used as it is.
//
// # Publishing
//
// Publish waits for the stream's acknowledgement: the event is stored, and
// on the engine's embedded server, which syncs each write to disk before
// it acknowledges it (nats.server.sync_interval: always), it survives a
// crash of the machine. With events.jetstream.async, Publish returns once
// the event is written to the connection, up to async_max_pending awaiting
// their acknowledgement; a failure to store one is logged, not returned,
// and [Backend.Flush] and Close wait for the acknowledgements. An event's
// message id ([events.MessageID]) travels as Nats-Msg-Id: the stream drops
// a second event with the same id within its duplicate window
// ([Backend.PublishAck] reports it as Duplicate), so that a publisher that
// retries after an error stores the event once.
//
// # Consumers and deliveries
//
// Each subscriber group reads its topic through a durable pull consumer
// named after the group ([ConsumerName]: "shipping_OnOrderPlaced"), with
// explicit acknowledgement, ack_wait, max_ack_pending and ack_backoff from
// the configuration, made where the subscriber's start option says
// (events.ReplayAll, ReplayFrom, ReplaySince; by default the next event).
// Replicas of a deployable share it: each event goes to one of them. A
// consumer that exists keeps where it is and is brought to the
// configuration where a consumer may change; one that reads another
// subject, acknowledges otherwise or is a push consumer fails with a
// [*ConflictError]. Each process pulls ahead as many events as the
// subscriber has workers (its concurrency, at most max_ack_pending, at
// least 2), and
// pulls no more while its workers are busy. An event that waits for a
// worker is reported in progress to the server while it waits, up to
// ack_wait (then it is given back for another member of the group), and
// once more when its delivery starts: a wait is not a failed delivery,
// and each delivery has its whole ack_wait.
//
// A delivery is settled by [events.Settle], with the server's count of
// deliveries as the attempt, so that the count goes on across replicas and
// restarts: nil acknowledges; a retryable error is negatively acknowledged
// with the retry policy's back-off as its delay (the first wait, doubled
// each time, ±20 %), never the immediate redelivery of a plain negative
// acknowledgement; a permanent error (invalid_argument, an undecodable
// payload) or the last allowed delivery's failure dead-letters the event
// and terminates it. An event whose delivery is not settled within
// ack_wait — its process died, or the subscriber ran too long — is
// delivered again, to any member of the group: ack_wait must exceed
// twice the subscriber's longest delivery (an event pulled ahead may wait
// for about one delivery before its own starts). After a crash, the events delivered
// twice are at most max_ack_pending.
//
// # Dead letters
//
// JetStream keeps no dead letters of its own: the backend makes them. The
// record ([events.DeadLetter] as JSON: the payload as received, the last
// error's code and client-safe message — no internal parameter or cause —,
// the subscriber, the number of deliveries, the stream sequence) is
// published to dead_letter_subject followed by the group
// ([DeadLetterSubject]: "$WEGO.DLQ.shipping.OnOrderPlaced"), which the
// stream dead_letter_stream keeps for dead_letter_max_age; then the bus
// logs it and calls the application's hook with the full error, and the
// event is terminated. The record's message id is the event's place in its
// stream and consumer, and the dead-letter stream's duplicate window
// outlasts a redelivery (twice ack_wait at least), so that an event is
// dead-lettered once even when its process dies between storing the
// record and terminating the event: the next delivery, over the maximum,
// is dead-lettered without running the subscriber, and the record it
// stores again is dropped as a duplicate, unseen by the hook. For the same
// reason the consumer's own limit of deliveries is off (max_deliver -1):
// the server never gives up on an event without its dead letter. A record
// that cannot be stored leaves the event to be delivered again after the
// back-off, and dead-lettered then. The backend builds dead letters from
// the delivery count rather than from the server's advisories
// ($JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES and MSG_TERMINATED):
// advisories are plain NATS messages, lost when no process listens, sent
// to every replica that does, and without the error.
//
// # Reconnects and stopping
//
// The pulls resume by themselves after a reconnect or a restart of the
// server on the same storage. When the consumer is gone — deleted, or a
// server that lost its state — the backend makes the stream and the
// consumer again (where the start option says) and pulls from it. Close
// stops pulling, delivers the events already pulled and waits for the
// deliveries under way; an event left unsettled when its time runs out is
// delivered again after ack_wait. Nothing is dead-lettered for stopping.
//
// # Subjects and permissions
//
// The subject is the contract: a client that may publish on a topic's
// subject stores events that subscribers take for the publisher's, and
// one that knows a message id can pre-empt the event that will carry it.
// In a shared NATS account, give each service's user publish permission on
// its own topics only, and see the events documentation (docs/events.md)
// for the JetStream API subjects each side uses.
package jsevents
