package natsevents_test

import (
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/wegomesh/wego/auth"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/events/natsevents"
)

// The publisher's credential travels in the Authorization header; its
// account does not leave the process.
func TestAuthorizationHeader(t *testing.T) {
	msg := events.Message{Topic: "orders.Placed", ContentType: events.ContentTypeJSON, Data: []byte(`{}`),
		Authorization: "Bearer t0k3n", Account: &auth.Account{ID: "orders"}}
	h := natsevents.Header(msg)
	if got := h.Get(events.HeaderAuthorization); got != "Bearer t0k3n" {
		t.Errorf("header %q", got)
	}
	got := natsevents.Message(&nats.Msg{Subject: msg.Topic, Header: h, Data: msg.Data})
	if got.Authorization != "Bearer t0k3n" || got.Account != nil {
		t.Errorf("received %q, account %v", got.Authorization, got.Account)
	}
	msg.Authorization = ""
	if _, ok := natsevents.Header(msg)[events.HeaderAuthorization]; ok {
		t.Error("an event without a credential has an Authorization header")
	}
}
