package config_test

import (
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/wegomesh/wego/config"
)

// Types is a section with one field of each kind that Section converts.
type Types struct {
	Common   `mapstructure:",squash"`
	Embedded                // squashed too: embedded structs are inlined
	Int8     int8           `mapstructure:"int8"`
	Uint     uint           `mapstructure:"uint"`
	Float    float32        `mapstructure:"float"`
	Bool     bool           `mapstructure:"bool"`
	Text     string         `mapstructure:"text"`
	Wait     time.Duration  `mapstructure:"wait"`
	Ints     []int          `mapstructure:"ints"`
	Bytes    []byte         `mapstructure:"bytes"`
	Level    zapcore.Level  `mapstructure:"level"`
	IP       net.IP         `mapstructure:"ip"`
	Ptr      *int           `mapstructure:"ptr"`
	Any      any            `mapstructure:"any"`
	Labels   map[string]int `mapstructure:"labels"`
	Skipped  string         `mapstructure:"-"`
	NoTag    string
	//lint:ignore U1000 an unexported field, to show that decoding ignores it
	hidden string
}

// Common is squashed into Types by its tag.
type Common struct {
	Name string `mapstructure:"name"`
}

// Embedded is squashed into Types because it is embedded.
type Embedded struct {
	Zone string `mapstructure:"zone"`
}

func TestConversionsFromEnvironment(t *testing.T) {
	t.Parallel()
	c, err := config.Load(config.Optional(), config.Dir(t.TempDir()), environ(
		"WEGO_T_NAME", "n",
		"WEGO_T_ZONE", "z",
		"WEGO_T_INT8", "-128",
		"WEGO_T_UINT", "7",
		"WEGO_T_FLOAT", "0.5",
		"WEGO_T_BOOL", "1",
		"WEGO_T_TEXT", "t",
		"WEGO_T_WAIT", "1m30s",
		"WEGO_T_INTS", "1, 2,3",
		"WEGO_T_BYTES", "raw",
		"WEGO_T_LEVEL", "warn",
		"WEGO_T_IP", "10.0.0.1",
		"WEGO_T_PTR", "42",
		"WEGO_T_ANY", "x",
		"WEGO_T_LABELS", "not a map", // maps cannot come from one variable
		"WEGO_T_SKIPPED", "s",
		"WEGO_T_NOTAG", "field name, lower-cased",
	))
	if err != nil {
		t.Fatal(err)
	}
	got, err := config.Get[Types](c, "t")
	if err != nil {
		t.Fatal(err)
	}
	ptr := 42
	want := Types{
		Common: Common{Name: "n"}, Embedded: Embedded{Zone: "z"},
		Int8: -128, Uint: 7, Float: 0.5, Bool: true, Text: "t", Wait: 90 * time.Second,
		Ints: []int{1, 2, 3}, Bytes: []byte("raw"), Level: zapcore.WarnLevel, IP: net.ParseIP("10.0.0.1"),
		Ptr: &ptr, Any: "x", NoTag: "field name, lower-cased",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestConversionsFromFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "dev.yaml", `
t:
  name: 12        # a number where a string is expected
  float: 3        # an integer where a float is expected
  uint: 7.0       # an integral float where an integer is expected
  wait: 0         # zero needs no unit
  ints: 5         # a single value where a list is expected
  level: debug
  labels: {a: 1, b: "2"}
`)
	c, err := config.Load(config.Dir(dir), environ("WEGO_T_LABELS_B", "3"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := config.GetWithDefaults(c, "t", Types{Wait: time.Second, Labels: map[string]int{"z": 0}})
	if err != nil {
		t.Fatal(err)
	}
	want := Types{
		Common: Common{Name: "12"}, Float: 3, Uint: 7, Ints: []int{5}, Level: zapcore.DebugLevel,
		Labels: map[string]int{"a": 1, "b": 3, "z": 0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestConversionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ key, value, want string }{
		{"int8", "128", `cannot parse "128" as int8: out of range`},
		{"uint", "-1", `cannot parse "-1" as uint`},
		{"float", "half", `cannot parse "half" as float32`},
		{"bool", "yes", `cannot parse "yes" as bool`},
		{"wait", "5", `cannot parse "5" as time.Duration`},
		{"ints", "1,x", `t.ints[1] from environment variable WEGO_T_INTS: cannot parse "x" as int`},
		{"level", "loud", `cannot parse "loud" as zapcore.Level: unrecognized level: "loud"`},
		{"ip", "10.0.0", `cannot parse "10.0.0" as net.IP`},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			name := "WEGO_T_" + strings.ToUpper(tt.key)
			c, err := config.Load(config.Optional(), config.Dir(t.TempDir()), environ(name, tt.value))
			if err != nil {
				t.Fatal(err)
			}
			_, err = config.Get[Types](c, "t")
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%s: error %v, want %q", name, tt.value, err, tt.want)
			}
		})
	}
}

func TestConversionErrorsFromFile(t *testing.T) {
	t.Parallel()
	tests := []struct{ yaml, want string }{
		{"uint: -1", "cannot use -1 as uint"},
		{"int8: 1e10", "cannot use 1e+10 as int8"},
		{"bool: 1", "cannot use 1 as bool"},
		{"text: {a: 1}", "cannot use a map as string"},
		{"wait: 1.5", `cannot use 1.5 as time.Duration: write a unit, as in "1.5s"`},
		{"ints: {a: 1}", "cannot use a map as []int"},
		{"labels: [1]", "cannot use a list as map[string]int"},
		{"float: true", "cannot use true as float32"},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, dir, "dev.yaml", "t:\n  "+tt.yaml+"\n")
			c, err := config.Load(config.Dir(dir), environ())
			if err != nil {
				t.Fatal(err)
			}
			_, err = config.Get[Types](c, "t")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}
