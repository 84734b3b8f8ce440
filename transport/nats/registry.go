package natstransport

// The NATS registry (registry.kind nats, the default of an application
// with the NATS engine) comes with the NATS transport, which registers the
// engine: whoever has the engine has its registry.
import _ "github.com/wegomesh/wego/registry/natsregistry"
