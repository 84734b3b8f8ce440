//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package boltstore

import "os"

// unlock does nothing where bbolt does not lock with flock: closing the
// file releases its lock there.
func unlock(*os.File) {}
