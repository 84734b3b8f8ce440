// Package events is typed publish and subscribe for WeGO services.
package events
