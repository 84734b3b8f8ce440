// Package engine owns WeGO's connection to NATS, the mesh's engine, and
// the NATS server that an application may embed.
//
// One engine per process starts from the configuration section "nats"
// ([Config], [LoadConfig]) and hands its connection to everything that
// speaks NATS: transports, discovery, state. Nothing else dials NATS, so
// there is one place that reconnects, logs, reports readiness and drains.
//
// # Embedded, cluster, external
//
// With no urls (the default), [Start] embeds a server in the process,
// listening on 127.0.0.1:4222 with JetStream on, and connects to it
// in-process: a program needs nothing installed to run, and the nats CLI
// reaches it with no flags. Embedded servers of several processes form
// one cluster when each listens for routes and names the others
// (nats.server.cluster). With urls, the engine embeds nothing and connects
// to those servers, failing over among them and among the other servers of
// their cluster:
//
//	nats:
//	  urls: [nats://10.0.0.1:4222, nats://10.0.0.2:4222]
//	  credentials: /etc/wego/app.creds
//
// # Readiness and reconnects
//
// [Start] returns once the connection is ready. From then on the
// connection reconnects by itself when a server goes away and logs each
// disconnection and reconnection with the server's URL; [Engine.Ready] is
// false meanwhile, which a readiness probe reports. [Engine.Close] drains:
// subscriptions finish the messages they hold, their answers are sent, and
// only then does the connection close and the embedded server stop.
//
// # Dynamic configuration
//
// [Engine.ConfigSource] makes the [config.Source] of a key-value bucket,
// which [config.Config.Attach] lays over an application's configuration:
// each key is a configuration key, each value YAML or JSON, and a change
// made with nats kv put reaches the configuration's subscribers at once.
// The source resumes after a reconnect from the last revision it saw, and
// reads the bucket whole again when revisions it has not seen may be gone.
package engine
