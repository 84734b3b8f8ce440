package jsevents

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/events"
)

// The metadata keys that mark what the backend made, so that it updates
// only its own streams and recognizes a name taken by something else.
const (
	metaTopic = "wego.topic"
	metaGroup = "wego.group"
	metaDLQ   = "wego.dead_letters"
)

// StreamName returns the name of the stream that the backend makes for
// topic: prefix followed by the topic's name with '_' for '.'
// ("EVENTS_orders_OrderPlaced").
func StreamName(prefix, topic string) string {
	return prefix + strings.ReplaceAll(topic, ".", "_")
}

// ConsumerName returns the name of the durable consumer of a subscriber
// group: the group's name with '_' for '.' ("shipping_OnOrderPlaced").
func ConsumerName(group string) string {
	return strings.ReplaceAll(group, ".", "_")
}

// DeadLetterSubject returns the subject of the dead letters of group:
// prefix, a dot and the group ("$WEGO.DLQ.shipping.OnOrderPlaced").
func DeadLetterSubject(prefix, group string) string {
	return prefix + "." + group
}

// ConflictError reports a stream or a consumer that exists with settings
// the backend cannot use or must not change: it names the stream (and the
// consumer), the setting, what it is and what the configuration asks.
type ConflictError struct {
	Stream   string
	Consumer string // empty for a stream's conflict
	Setting  string
	Have     string
	Want     string
	Hint     string // what to do about it
}

func (e *ConflictError) Error() string {
	what := "stream " + e.Stream
	if e.Consumer != "" {
		what = "consumer " + e.Consumer + " of stream " + e.Stream
	}
	return fmt.Sprintf("jsevents: %s exists with %s %s, not %s: %s", what, e.Setting, e.Have, e.Want, e.Hint)
}

// storage returns the storage type of the configuration.
func (b *Backend) storage() jetstream.StorageType {
	if b.cfg.Storage == "memory" {
		return jetstream.MemoryStorage
	}
	return jetstream.FileStorage
}

// maxBytes returns the configuration's MaxBytes as a stream takes it.
func maxBytes(n int64) int64 {
	if n == 0 {
		return -1
	}
	return n
}

// topicStream returns the configuration of the stream the backend makes
// for topic.
func (b *Backend) topicStream(topic string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamName(b.cfg.StreamPrefix, topic),
		Description: "WeGO events of topic " + topic,
		Subjects:    []string{topic},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Storage:     b.storage(),
		Replicas:    b.cfg.Replicas,
		MaxAge:      b.cfg.MaxAge,
		MaxBytes:    maxBytes(b.cfg.MaxBytes),
		Duplicates:  b.cfg.DuplicateWindow,
		Metadata:    map[string]string{metaTopic: topic},
	}
}

// deadLetterStream returns the configuration of the dead-letter stream.
// Its duplicate window outlasts a redelivery after an unanswered
// delivery, so that a dead letter published twice — by a process that
// died before it terminated the message, then by the next one — is
// stored once.
func (b *Backend) deadLetterStream() jetstream.StreamConfig {
	window := b.cfg.DuplicateWindow
	wait := b.cfg.AckWait
	for _, d := range b.cfg.AckBackoff {
		wait = max(wait, d)
	}
	window = max(window, 2*wait)
	if a := b.cfg.DeadLetterMaxAge; a > 0 && window > a {
		window = a
	}
	return jetstream.StreamConfig{
		Name:        b.cfg.DeadLetterStream,
		Description: "WeGO dead letters: events whose deliveries to a subscriber group are over without success",
		Subjects:    []string{b.cfg.DeadLetterSubject + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Storage:     b.storage(),
		Replicas:    b.cfg.Replicas,
		MaxAge:      b.cfg.DeadLetterMaxAge,
		MaxBytes:    -1,
		Duplicates:  window,
		Metadata:    map[string]string{metaDLQ: "true"},
	}
}

// ensureTopic makes sure that a stream stores topic, once per topic (and
// again after forget).
func (b *Backend) ensureTopic(ctx context.Context, js jetstream.JetStream, topic string) error {
	if _, ok := b.streams.Load(topic); ok {
		return nil
	}
	_, err := b.topicStreamName(ctx, js, topic)
	return err
}

// forget makes the next ensureTopic of topic check its stream again.
func (b *Backend) forget(topic string) { b.streams.Delete(topic) }

// topicStreamName returns the name of the stream that stores topic: the
// backend's own, made or brought to the configuration's settings, or
// another stream whose subjects take the topic's (made by an operator),
// used as it is.
func (b *Backend) topicStreamName(ctx context.Context, js jetstream.JetStream, topic string) (string, error) {
	if name, ok := b.streams.Load(topic); ok {
		return name.(string), nil
	}
	b.ensureMu.Lock()
	defer b.ensureMu.Unlock()
	if name, ok := b.streams.Load(topic); ok {
		return name.(string), nil
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	want := b.topicStream(topic)
	name, err := b.ensureStream(ctx, js, want, func(info *jetstream.StreamInfo) error {
		if !slices.Contains(info.Config.Subjects, topic) {
			return &ConflictError{Stream: want.Name, Setting: "subjects", Have: fmt.Sprint(info.Config.Subjects), Want: topic,
				Hint: "another stream has the name events.jetstream.stream_prefix gives this topic's; change the prefix"}
		}
		return nil
	}, topic)
	if err != nil {
		return "", errs.Unavailable(errs.InternalParam("topic", topic)).WithCause(err)
	}
	b.streams.Store(topic, name)
	return name, nil
}

// ensureDeadLetters makes, or brings to the configuration, the
// dead-letter stream.
func (b *Backend) ensureDeadLetters(ctx context.Context, js jetstream.JetStream) error {
	b.ensureMu.Lock()
	defer b.ensureMu.Unlock()
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	want := b.deadLetterStream()
	_, err := b.ensureStream(ctx, js, want, func(info *jetstream.StreamInfo) error {
		if !slices.Contains(info.Config.Subjects, want.Subjects[0]) {
			return &ConflictError{Stream: want.Name, Setting: "subjects", Have: fmt.Sprint(info.Config.Subjects), Want: want.Subjects[0],
				Hint: "change events.jetstream.dead_letter_stream or dead_letter_subject"}
		}
		return nil
	}, "")
	if err != nil {
		return err
	}
	b.dlq.Store(true)
	return nil
}

// ensureStream makes the stream of want, or checks the one of that name
// with same (which says whether it holds what the backend needs) and
// updates the settings that differ and a stream may change. When no
// stream has the name and subject is not empty, a stream whose subjects
// take subject is used as it is. It returns the stream's name. Called
// with b.ensureMu held.
func (b *Backend) ensureStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig,
	same func(*jetstream.StreamInfo) error, subject string) (string, error) {
	for range 3 { // a stream made or deleted meanwhile by another process
		s, err := js.Stream(ctx, want.Name)
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound):
			if subject != "" {
				if other, err := js.StreamNameBySubject(ctx, subject); err == nil && other != "" {
					b.logger.Info("events: the topic is stored in a stream made elsewhere, used as it is",
						zap.String("topic", subject), zap.String("stream", other))
					return other, nil
				}
			}
			_, err = js.CreateStream(ctx, want)
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				continue
			}
			if err != nil {
				return "", fmt.Errorf("jsevents: create stream %s: %w", want.Name, err)
			}
			b.logger.Info("events: stream created", zap.String("stream", want.Name), zap.Strings("subjects", want.Subjects))
			return want.Name, nil
		case err != nil:
			return "", fmt.Errorf("jsevents: read stream %s: %w", want.Name, err)
		}
		info := s.CachedInfo()
		if err := same(info); err != nil {
			return "", err
		}
		if err := b.updateStream(ctx, js, info, want); err != nil {
			return "", err
		}
		return want.Name, nil
	}
	return "", fmt.Errorf("jsevents: stream %s keeps appearing and disappearing", want.Name)
}

// updateStream checks that the stream of info can serve as want and
// brings the settings a stream may change (max age, max bytes, duplicate
// window, replicas) to want's.
func (b *Backend) updateStream(ctx context.Context, js jetstream.JetStream, info *jetstream.StreamInfo, want jetstream.StreamConfig) error {
	have := info.Config
	if have.Retention != jetstream.LimitsPolicy {
		return &ConflictError{Stream: want.Name, Setting: "retention", Have: have.Retention.String(), Want: "limits",
			Hint: "every subscriber group reads every event only from a stream with limits retention; delete the stream, or give the topic another"}
	}
	if have.Storage != want.Storage {
		return &ConflictError{Stream: want.Name, Setting: "storage", Have: have.Storage.String(), Want: want.Storage.String(),
			Hint: "a stream's storage cannot change; set events.jetstream.storage to " + have.Storage.String() + ", or move the stream's events and delete it"}
	}
	var changed []string
	upd := have
	if have.MaxAge != want.MaxAge {
		upd.MaxAge, changed = want.MaxAge, append(changed, fmt.Sprintf("max_age %v -> %v", have.MaxAge, want.MaxAge))
	}
	if have.MaxBytes != want.MaxBytes {
		upd.MaxBytes, changed = want.MaxBytes, append(changed, fmt.Sprintf("max_bytes %d -> %d", have.MaxBytes, want.MaxBytes))
	}
	if have.Duplicates != want.Duplicates {
		upd.Duplicates, changed = want.Duplicates, append(changed, fmt.Sprintf("duplicate_window %v -> %v", have.Duplicates, want.Duplicates))
	}
	if have.Replicas != want.Replicas {
		upd.Replicas, changed = want.Replicas, append(changed, fmt.Sprintf("replicas %d -> %d", have.Replicas, want.Replicas))
	}
	if len(changed) == 0 {
		return nil
	}
	upd.Metadata = maps.Clone(have.Metadata)
	if upd.Metadata == nil {
		upd.Metadata = map[string]string{}
	}
	maps.Copy(upd.Metadata, want.Metadata)
	if _, err := js.UpdateStream(ctx, upd); err != nil {
		return fmt.Errorf("jsevents: update stream %s (%s): %w", want.Name, strings.Join(changed, ", "), err)
	}
	b.logger.Info("events: stream updated to the configuration", zap.String("stream", want.Name), zap.Strings("changes", changed))
	return nil
}

// consumerConfig returns the configuration of the durable consumer of
// sub, on the stream that stores its topic.
func (b *Backend) consumerConfig(sub *events.Subscription) jetstream.ConsumerConfig {
	c := jetstream.ConsumerConfig{
		Durable:       ConsumerName(sub.Group),
		Description:   "WeGO subscriber group " + sub.Group + " of topic " + sub.Topic,
		FilterSubject: sub.Topic,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       b.cfg.AckWait,
		// The backend counts deliveries and dead-letters itself (see
		// deliver): the server never gives up on an event silently.
		MaxDeliver:    -1,
		MaxAckPending: b.cfg.MaxAckPending,
		BackOff:       b.cfg.AckBackoff,
		ReplayPolicy:  jetstream.ReplayInstantPolicy,
		Metadata:      map[string]string{metaGroup: sub.Group, metaTopic: sub.Topic},
	}
	if len(c.BackOff) > 0 {
		c.AckWait = c.BackOff[0] // as the server sets it
	}
	switch sub.Start.From {
	case events.FromBeginning:
		c.DeliverPolicy = jetstream.DeliverAllPolicy
	case events.FromSequence:
		c.DeliverPolicy, c.OptStartSeq = jetstream.DeliverByStartSequencePolicy, max(sub.Start.Sequence, 1)
	case events.FromTime:
		t := sub.Start.Time
		c.DeliverPolicy, c.OptStartTime = jetstream.DeliverByStartTimePolicy, &t
	default:
		c.DeliverPolicy = jetstream.DeliverNewPolicy
	}
	return c
}

// ensureConsumer makes the durable consumer of sub on stream, or checks
// the one that exists and brings its settings to the configuration's.
// Where a new group starts (sub.Start) matters only when it is made.
func (b *Backend) ensureConsumer(ctx context.Context, js jetstream.JetStream, stream string, sub *events.Subscription) (jetstream.Consumer, error) {
	b.ensureMu.Lock()
	defer b.ensureMu.Unlock()
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	want := b.consumerConfig(sub)
	for range 3 {
		c, err := js.Consumer(ctx, stream, want.Durable)
		switch {
		case errors.Is(err, jetstream.ErrConsumerNotFound):
			c, err = js.CreateConsumer(ctx, stream, want)
			if errors.Is(err, jetstream.ErrConsumerExists) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("jsevents: create consumer %s of stream %s: %w", want.Durable, stream, err)
			}
			b.logger.Info("events: consumer created", zap.String("stream", stream), zap.String("consumer", want.Durable),
				zap.String("start", sub.Start.From.String()))
			return c, nil
		case errors.Is(err, jetstream.ErrNotPullConsumer):
			return nil, &ConflictError{Stream: stream, Consumer: want.Durable, Setting: "deliver subject", Have: "set (a push consumer)",
				Want: "none (a pull consumer)", Hint: "delete the push consumer; the group starts again where its start option says"}
		case err != nil:
			return nil, fmt.Errorf("jsevents: read consumer %s of stream %s: %w", want.Durable, stream, err)
		}
		return b.updateConsumer(ctx, js, stream, c, want)
	}
	return nil, fmt.Errorf("jsevents: consumer %s of stream %s keeps appearing and disappearing", want.Durable, stream)
}

// updateConsumer checks that c can serve as want and brings the settings
// a consumer may change to want's.
func (b *Backend) updateConsumer(ctx context.Context, js jetstream.JetStream, stream string, c jetstream.Consumer, want jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	have := c.CachedInfo().Config
	conflict := func(setting, h, w, hint string) error {
		return &ConflictError{Stream: stream, Consumer: want.Durable, Setting: setting, Have: h, Want: w, Hint: hint}
	}
	if g, ok := have.Metadata[metaGroup]; ok && g != want.Metadata[metaGroup] {
		return nil, conflict("group", g, want.Metadata[metaGroup], "two groups whose names differ only in '.' and '_' share a consumer name; rename one")
	}
	filters := have.FilterSubjects
	if have.FilterSubject != "" {
		filters = append(filters, have.FilterSubject)
	}
	if len(filters) != 1 || filters[0] != want.FilterSubject {
		return nil, conflict("filter subjects", fmt.Sprint(filters), want.FilterSubject, "the consumer reads something else; delete it or rename the group")
	}
	if have.AckPolicy != jetstream.AckExplicitPolicy {
		return nil, conflict("ack policy", have.AckPolicy.String(), "explicit", "delete the consumer; the group starts again where its start option says")
	}
	var changed []string
	upd := have
	if have.AckWait != want.AckWait {
		upd.AckWait, changed = want.AckWait, append(changed, fmt.Sprintf("ack_wait %v -> %v", have.AckWait, want.AckWait))
	}
	if have.MaxDeliver != want.MaxDeliver {
		upd.MaxDeliver, changed = want.MaxDeliver, append(changed, fmt.Sprintf("max_deliver %d -> %d", have.MaxDeliver, want.MaxDeliver))
	}
	if have.MaxAckPending != want.MaxAckPending {
		upd.MaxAckPending, changed = want.MaxAckPending, append(changed, fmt.Sprintf("max_ack_pending %d -> %d", have.MaxAckPending, want.MaxAckPending))
	}
	if !slices.Equal(have.BackOff, want.BackOff) {
		upd.BackOff, changed = want.BackOff, append(changed, fmt.Sprintf("ack_backoff %v -> %v", have.BackOff, want.BackOff))
	}
	if have.Metadata[metaGroup] == "" {
		upd.Metadata = maps.Clone(have.Metadata)
		if upd.Metadata == nil {
			upd.Metadata = map[string]string{}
		}
		maps.Copy(upd.Metadata, want.Metadata)
		changed = append(changed, "metadata")
	}
	if len(changed) == 0 {
		return c, nil
	}
	c, err := js.UpdateConsumer(ctx, stream, upd)
	if err != nil {
		return nil, fmt.Errorf("jsevents: update consumer %s of stream %s (%s): %w", want.Durable, stream, strings.Join(changed, ", "), err)
	}
	b.logger.Info("events: consumer updated to the configuration", zap.String("stream", stream), zap.String("consumer", want.Durable),
		zap.Strings("changes", changed))
	return c, nil
}
