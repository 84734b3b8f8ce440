package auth

// PublishResource returns the resource of publishing events on topic, as
// rules name it: "publish:" and the topic ("publish:orders.OrderPlaced").
// Who publishes is the account of the event's credential.
func PublishResource(topic string) string { return kindPrefixes[kindPublish] + topic }

// SubscribeResource returns the resource of the subscriber named
// subscriber, as rules name it: "subscribe:" and the subscriber's name
// ("subscribe:shipping.OnOrderPlaced"). Who subscribes is the service
// account of the deployable that runs the subscriber.
func SubscribeResource(subscriber string) string { return kindPrefixes[kindSubscribe] + subscriber }

// Reaches reports which kinds of resource the rule's resource can match:
// commands ("inventory.*"), event resources ("publish:orders.*",
// "subscribe:shipping.OnOrderPlaced"), or both ("*"). A malformed resource
// counts as reaching commands, so that [Compile] reports it with them.
func (r Rule) Reaches() (commands, events bool) {
	p, err := parsePattern(r.Resource)
	switch {
	case err != nil:
		return true, false
	case p.any:
		return true, true
	}
	return p.kind == kindCommand, p.kind != kindCommand
}
