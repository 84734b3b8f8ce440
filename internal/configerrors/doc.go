// Package configerrors holds no code: its tests check that every package
// that reads a configuration section — log, each built-in middleware, the
// HTTP transport's server and client, and fw at start-up — reports a wrong
// value as a *config.Error that errors.As finds, naming the full key.
package configerrors
