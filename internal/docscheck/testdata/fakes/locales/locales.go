// Package locales holds an application's message files, as the
// documentation's snippets embed them (a fake for the snippet check).
package locales

import "embed"

// FS holds the message files.
//
//go:embed *.toml
var FS embed.FS
