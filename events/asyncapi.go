package events

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/codec/jsonschema"
	"github.com/wegomesh/wego/middleware"
)

// AsyncAPI returns an AsyncAPI 3.0 document, as JSON, that describes the
// events of the deployable whose catalog is cat (nil means
// [catalog.Default]): a channel for each topic that it declares or that a
// subscriber reads, whose address is the topic's name (the NATS subject);
// a send operation, named after the topic, for each topic of a service
// the deployable runs (a command or a subscriber of the service is local
// here: the service that publishes a topic declares it and runs there); a
// receive operation, named after the subscriber, for each subscriber.
// Payload schemas come from the Go types (package codec/jsonschema, with
// what their Validate methods enforce); each message names its headers
// and takes its correlation id from X-Correlation-Id. title names the
// application ("WeGO" when empty).
//
// The HTTP transport serves the document at GET /asyncapi.json, next to
// its OpenAPI document.
func AsyncAPI(cat *catalog.Catalog, title string) ([]byte, error) {
	if cat == nil {
		cat = catalog.Default
	}
	if title == "" {
		title = "WeGO"
	}
	type channel struct {
		topic   string
		payload reflect.Type
		doc     string
		send    bool
	}
	channels := map[string]*channel{}
	served := map[string]bool{} // services with a local command here
	var subscribers []catalog.Entry
	for _, e := range cat.Commands() {
		spec := e.Spec()
		if spec.Kind != middleware.Event {
			if e.Local() && !e.Routed() {
				served[spec.Service()] = true
			}
			continue
		}
		if _, ok := topicMetaKey.Get(spec.Attributes); ok {
			channels[spec.Name] = &channel{topic: spec.Name, payload: spec.Request, doc: spec.Doc}
			continue
		}
		if _, ok := subscriberKey.Get(spec.Attributes); ok {
			subscribers = append(subscribers, e)
			served[spec.Service()] = true
		}
	}
	for _, e := range subscribers {
		spec := e.Spec()
		topic, _ := TopicKey.Get(spec.Attributes)
		if channels[topic] == nil { // a topic declared in another catalog
			channels[topic] = &channel{topic: topic, payload: spec.Request}
		}
	}
	for _, ch := range channels {
		ch.send = served[(&middleware.Spec{Name: ch.topic}).Service()]
	}

	g := jsonschema.NewGenerator("#/components/schemas/")
	names := make([]string, 0, len(channels))
	for name, ch := range channels {
		names = append(names, name)
		g.ProbeRules(ch.payload, nil) // before any schema: see jsonschema
	}
	slices.Sort(names)
	chans, ops, msgs := obj{}, obj{}, obj{}
	for _, name := range names {
		ch := channels[name]
		msgID := (&middleware.Spec{Name: name}).Operation()
		msg := obj{
			"name":        name,
			"title":       name,
			"contentType": ContentTypeJSON,
			"payload":     g.Schema(ch.payload),
			"headers":     headersSchema,
			"correlationId": obj{
				"description": "The publisher's request id, which the subscribers' deliveries run with.",
				"location":    "$message.header#/" + HeaderCorrelationID,
			},
		}
		c := obj{
			"address":  name,
			"messages": obj{msgID: obj{"$ref": "#/components/messages/" + name}},
		}
		if ch.doc != "" {
			msg["summary"], c["description"] = ch.doc, ch.doc
		}
		msgs[name] = msg
		chans[name] = c
		if ch.send {
			ops[name] = operation("send", name, msgID, ch.doc, nil)
		}
	}
	for _, e := range subscribers {
		spec := e.Spec()
		topic, _ := TopicKey.Get(spec.Attributes)
		group, _ := GroupKey.Get(spec.Attributes)
		msgID := (&middleware.Spec{Name: topic}).Operation()
		ops[spec.Name] = operation("receive", topic, msgID, spec.Doc, obj{"x-wego-group": group})
	}
	doc := obj{
		"asyncapi":           "3.0.0",
		"info":               obj{"title": title, "version": "1", "description": "The events that " + title + " publishes and receives."},
		"defaultContentType": ContentTypeJSON,
		"channels":           chans,
		"operations":         ops,
		"components":         obj{"messages": msgs, "schemas": g.Definitions()},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("events: AsyncAPI document: %w", err)
	}
	return b, nil
}

type obj = map[string]any

// headersSchema describes the metadata an event may carry in headers:
// each only when it carries information (see HeaderCorrelationID).
var headersSchema = obj{
	"type": "object",
	"properties": obj{
		HeaderCorrelationID: obj{"type": "string", "description": "The publisher's request id, when it had one."},
		HeaderContentType: obj{"type": "string", "const": ContentTypeJSON,
			"description": "Absent on the events WeGO publishes: a message without a content type is JSON."},
		HeaderMessageID: obj{"type": "string", "description": "The publisher's message id, when it gave one, by which JetStream drops a duplicate."},
		HeaderAuthorization: obj{"type": "string",
			"description": "The publisher's credential (Bearer token or API key), when auth is on: the subscriber checks it against the rules on publish:<topic>."},
	},
}

// operation describes a send or receive operation on the channel of topic.
func operation(action, topic, msgID, doc string, extra obj) obj {
	op := obj{
		"action":   action,
		"channel":  obj{"$ref": "#/channels/" + topic},
		"messages": []obj{{"$ref": "#/channels/" + topic + "/messages/" + msgID}},
	}
	if doc != "" {
		op["summary"] = doc
	}
	for k, v := range extra {
		op[k] = v
	}
	return op
}
