// Package jsevents carries WeGO's events on NATS JetStream, on the
// connection of the NATS engine (package engine): at least once and
// durable. Importing it registers the backend kind "jetstream" with
// package events.
//
//	import _ "github.com/wegomesh/wego/events/jsevents"
//
//	events:
//	  backend: jetstream
//	  jetstream: {replicas: 1, storage: file, max_age: 168h, ack_wait: 30s}
package jsevents
