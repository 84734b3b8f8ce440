// Package storebench measures the store backends against their bare
// libraries, the same operation both ways in the same run: bolt_test.go
// compares package store/boltstore with go.etcd.io/bbolt's own View and
// Update.
//
//	go test -run '^$' -bench Bolt -benchmem ./storebench
//	go test -run TestBoltOverhead -v ./storebench
package storebench
