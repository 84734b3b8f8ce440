package config_test

import (
	"testing"
	"testing/fstest"

	"github.com/wegomesh/wego/config"
)

type limit struct {
	Rate  float64 `mapstructure:"rate"`
	Burst int     `mapstructure:"burst"`
}

type limits struct {
	Rate     float64             `mapstructure:"rate"`
	Commands map[string]limit    `mapstructure:"commands"`
	Routes   map[string]string   `mapstructure:"routes"`
	Lists    map[string][]string `mapstructure:"lists"`
}

// Map keys with dots (command names) survive viper's splitting of keys.
func TestDottedMapKeys(t *testing.T) {
	t.Parallel()
	yaml := `
mw:
  rate: 1
  commands:
    inventory.Reserve: {rate: 5, burst: 2}
    inventory.*: {rate: 7}
    orders.v2.Place: {burst: 9}
    plain: {rate: 3}
  routes:
    inventory.*: http://a:1
    Orders.Get: http://b:2
  lists:
    x.y: [http://a, http://b]
`
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := config.Get[limits](c, "mw")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]limit{
		"inventory.reserve": {Rate: 5, Burst: 2},
		"inventory.*":       {Rate: 7},
		"orders.v2.place":   {Burst: 9},
		"plain":             {Rate: 3},
	}
	if len(got.Commands) != len(want) {
		t.Fatalf("commands = %v", got.Commands)
	}
	for k, v := range want {
		if got.Commands[k] != v {
			t.Errorf("commands[%q] = %+v, want %+v", k, got.Commands[k], v)
		}
	}
	if got.Routes["inventory.*"] != "http://a:1" || got.Routes["orders.get"] != "http://b:2" {
		t.Errorf("routes = %v", got.Routes)
	}
	if l := got.Lists["x.y"]; len(l) != 2 || l[1] != "http://b" {
		t.Errorf("lists = %v", got.Lists)
	}
}

// A real unknown key inside a map value is still an error.
func TestDottedMapKeysKeepUnknownFieldErrors(t *testing.T) {
	t.Parallel()
	yaml := "mw:\n  commands:\n    a.B: {rate: 5, bogus: 1}\n"
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.Get[limits](c, "mw"); err == nil {
		t.Fatal("an unknown field inside a command's settings must fail")
	}
}
