package bdd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cucumber/godog"
	"github.com/google/uuid"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/codec"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/middleware"
)

// StepDoc describes a built-in step: the regular expression it is
// registered with, an example and what it does. [Vocabulary] lists them;
// docs/bdd-steps.md is rendered from the same list.
type StepDoc struct {
	// Section groups related steps, such as "HTTP".
	Section string
	// Pattern is the regular expression that matches the step's text
	// (without its keyword).
	Pattern string
	// Example is the step as a feature file writes it, with its keyword.
	Example string
	// Doc says what the step does, in one line.
	Doc string
	// Argument is "doc string or table", "table" or "" for a step that
	// takes none.
	Argument string
}

// stepDef is a built-in step: its documentation and the function that
// binds its handler to a World.
type stepDef struct {
	StepDoc
	bind func(w *World) any
}

// Arguments of steps.
const (
	argDocOrTable = "doc string or table"
	argTable      = "table"
)

// steps is the built-in vocabulary, in the order of the documentation.
// Register and the documentation both read it, so that they cannot drift.
var steps = []stepDef{
	// Calling commands.
	{StepDoc{"Calling commands", `^I call "([^"]*)"$`,
		`When I call "health.Check"`,
		"Calls the command with a zero request, through its client chain, in the scenario's catalog.", ""},
		func(w *World) any { return func(name string) error { return w.Invoke(name, nil) } }},
	{StepDoc{"Calling commands", `^I call "([^"]*)" with:$`,
		`When I call "inventory.Reserve" with:`,
		"Calls the command with the request given as JSON or as field | value rows, decoded as the HTTP transport decodes a body: a key that is not exactly a field's JSON name, or that is given twice, fails the step.", argDocOrTable},
		func(w *World) any { return w.callWith }},

	// Responses.
	{StepDoc{"Responses", `^the call succeeds$`,
		`Then the call succeeds`,
		"The last call returned no error, or the last HTTP response has a status below 400.", ""},
		func(w *World) any { return w.succeeds }},
	{StepDoc{"Responses", `^the response is:$`,
		`Then the response is:`,
		"The response is exactly this JSON document (numbers compare by value, member order does not matter).", argDocOrTable},
		func(w *World) any { return func() error { return w.responseMatches(false) } }},
	{StepDoc{"Responses", `^the response contains:$`,
		`Then the response contains:`,
		"The response has at least these members, at any depth; arrays must have the same length.", argDocOrTable},
		func(w *World) any { return func() error { return w.responseMatches(true) } }},
	{StepDoc{"Responses", `^the response field "([^"]*)" is "([^"]*)"$`,
		`Then the response field "items[0].sku" is "apple"`,
		"The field at the path (dots and [index]) is this string, or this number, boolean or null written as JSON.", ""},
		func(w *World) any { return w.fieldIs }},
	{StepDoc{"Responses", `^the response field "([^"]*)" is a UUID$`,
		`Then the response field "reservation_id" is a UUID`,
		"The field is a string in UUID form.", ""},
		func(w *World) any { return w.fieldIsUUID }},
	{StepDoc{"Responses", `^the response field "([^"]*)" is not empty$`,
		`Then the response field "reservation_id" is not empty`,
		"The field exists and is not null, \"\", [] or {}.", ""},
		func(w *World) any { return w.fieldNotEmpty }},
	{StepDoc{"Responses", `^the response field "([^"]*)" is absent$`,
		`Then the response field "discount" is absent`,
		"The response has no field at the path.", ""},
		func(w *World) any { return w.fieldAbsent }},

	// Errors.
	{StepDoc{"Errors", `^the call fails with code "([^"]*)"$`,
		`Then the call fails with code "inventory.unknown_sku"`,
		"The last call or request failed with this error code.", ""},
		func(w *World) any { return w.failsWithCode }},
	{StepDoc{"Errors", `^the call fails with status (\d+)$`,
		`Then the call fails with status 404`,
		"The last call or request failed with this HTTP status (a call's is its error's status).", ""},
		func(w *World) any { return w.failsWithStatus }},
	{StepDoc{"Errors", `^the error message is "([^"]*)"$`,
		`Then the error message is "SKU apple is unknown."`,
		"The error's message as the caller got it: the default (English) one for a call, the body's for an HTTP response.", ""},
		func(w *World) any { return w.errorMessage }},
	{StepDoc{"Errors", `^the error message in "([^"]*)" is "([^"]*)"$`,
		`Then the error message in "es" is "El SKU apple no existe."`,
		"The error's message localized for this Accept-Language value with the World's i18n bundle.", ""},
		func(w *World) any { return w.errorMessageIn }},

	// Fakes.
	{StepDoc{"Fakes", `^"([^"]*)" returns:$`,
		`Given "inventory.Reserve" returns:`,
		"For this scenario the command answers every call with this response (checked against its response type).", argDocOrTable},
		func(w *World) any { return w.returns }},
	{StepDoc{"Fakes", `^"([^"]*)" fails with code "([^"]*)"$`,
		`Given "inventory.Reserve" fails with code "inventory.unknown_sku"`,
		"For this scenario the command fails every call with this code, which must be defined (errs.Define) or a kind's code.", ""},
		func(w *World) any { return func(name, code string) error { return w.failsWith(name, code, false) } }},
	{StepDoc{"Fakes", `^"([^"]*)" fails with code "([^"]*)" and params:$`,
		`Given "inventory.Reserve" fails with code "inventory.unknown_sku" and params:`,
		"Like the step above, with the error's message parameters given as name | value rows.", argTable},
		func(w *World) any { return func(name, code string) error { return w.failsWith(name, code, true) } }},
	{StepDoc{"Fakes", `^"([^"]*)" is recorded$`,
		`Given "inventory.Reserve" is recorded`,
		"Checks that the command runs in this process: its real function runs and its calls are recorded (every command's are).", ""},
		func(w *World) any { return w.recorded }},
	{StepDoc{"Fakes", `^"([^"]*)" is replaced by "([^"]*)"$`,
		`Given "inventory.Reserve" is replaced by "always out of stock"`,
		"For this scenario the command runs a fake named in the Fakes option (a catalog.AnyFunc or a typed function).", ""},
		func(w *World) any { return w.replaceCommand }},
	{StepDoc{"Fakes", `^the dependency "([^"]*)" is replaced by "([^"]*)"$`,
		`Given the dependency "inventory.store" is replaced by "empty store"`,
		"For this scenario the dependency resolves to a fresh value of the fake named in the Fakes option.", ""},
		func(w *World) any { return w.replaceDependency }},

	// Recorded calls.
	{StepDoc{"Recorded calls", `^"([^"]*)" was called (\d+) times?$`,
		`Then "inventory.Reserve" was called 1 time`,
		"The command's function or fake ran this many times in this scenario.", ""},
		func(w *World) any { return w.calledTimes }},
	{StepDoc{"Recorded calls", `^"([^"]*)" was not called$`,
		`Then "payments.Charge" was not called`,
		"The command's function or fake did not run in this scenario.", ""},
		func(w *World) any { return func(name string) error { return w.calledTimes(name, 0) } }},
	{StepDoc{"Recorded calls", `^"([^"]*)" was called with:$`,
		`Then "inventory.Reserve" was called with:`,
		"At least one call's request contains this JSON document (as in \"the response contains\").", argDocOrTable},
		func(w *World) any { return w.calledWith }},

	// Events.
	{StepDoc{"Events", `^an event "([^"]*)" was published$`,
		`Then an event "orders.OrderPlaced" was published`,
		"At least one event was published on the topic in this scenario (each scenario runs an in-process, synchronous event bus).", ""},
		func(w *World) any { return w.published }},
	{StepDoc{"Events", `^an event "([^"]*)" was published with:$`,
		`Then an event "orders.OrderPlaced" was published with:`,
		"At least one event published on the topic contains this JSON document (as in \"the response contains\").", argDocOrTable},
		func(w *World) any { return w.publishedWith }},
	{StepDoc{"Events", `^no event "([^"]*)" was published$`,
		`Then no event "orders.OrderPlaced" was published`,
		"No event was published on the topic in this scenario.", ""},
		func(w *World) any { return w.notPublished }},
	{StepDoc{"Events", `^the subscriber "([^"]*)" received (\d+) events?$`,
		`Then the subscriber "shipping.OnOrderPlaced" received 1 event`,
		"The subscriber's function (or fake) ran this many times in this scenario, redeliveries included.", ""},
		func(w *World) any { return w.receivedTimes }},
	{StepDoc{"Events", `^the subscriber "([^"]*)" received an event with:$`,
		`Then the subscriber "shipping.OnOrderPlaced" received an event with:`,
		"At least one event the subscriber received contains this JSON document.", argDocOrTable},
		func(w *World) any { return w.receivedWith }},

	// HTTP.
	{StepDoc{"HTTP", `^the service at "([^"]*)"$`,
		`Given the service at "${INVENTORY_URL}"`,
		"Sends this scenario's requests to a running service instead of the application's handler; ${VAR} is read from the environment.", ""},
		func(w *World) any { return w.serviceAt }},
	{StepDoc{"HTTP", `^the request headers are:$`,
		`Given the request headers are:`,
		"Sends these headers (name | value rows) with every later request of the scenario.", argTable},
		func(w *World) any { return w.requestHeaders }},
	{StepDoc{"HTTP", `^I send "([^"]*)" to "([^"]*)"$`,
		`When I send "GET" to "/orders/o-1"`,
		"Sends a request without a body to the handler (no network) or the service.", ""},
		func(w *World) any { return func(method, path string) error { return w.send(method, path, false) } }},
	{StepDoc{"HTTP", `^I send "([^"]*)" to "([^"]*)" with:$`,
		`When I send "POST" to "/inventory/reserve" with:`,
		"Sends a request with this JSON body (Content-Type: application/json unless a header says otherwise).", argDocOrTable},
		func(w *World) any { return func(method, path string) error { return w.send(method, path, true) } }},
	{StepDoc{"HTTP", `^the response status is (\d+)$`,
		`Then the response status is 201`,
		"The last response has this HTTP status.", ""},
		func(w *World) any { return w.statusIs }},
	{StepDoc{"HTTP", `^the response header "([^"]*)" is "([^"]*)"$`,
		`Then the response header "Content-Type" is "application/json; charset=utf-8"`,
		"The last HTTP response has this header with this value.", ""},
		func(w *World) any { return w.headerIs }},
	{StepDoc{"HTTP", `^the response header "([^"]*)" is not empty$`,
		`Then the response header "X-Request-Id" is not empty`,
		"The last HTTP response has this header, not empty.", ""},
		func(w *World) any { return w.headerNotEmpty }},

	// Audit and logs.
	{StepDoc{"Audit records and logs", `^an audit record for "([^"]*)" with outcome "([^"]*)" was written$`,
		`Then an audit record for "inventory.Reserve" with outcome "ok" was written`,
		"The audit middleware wrote a record of the command with this outcome (\"ok\", \"started\" or an error code) to World.Audit.", ""},
		func(w *World) any { return w.auditOutcome }},
	{StepDoc{"Audit records and logs", `^an audit record for "([^"]*)" was written with:$`,
		`Then an audit record for "inventory.Reserve" was written with:`,
		"A record of the command contains this JSON document, in the record's JSON form (outcome, principal, request.sku, ...).", argDocOrTable},
		func(w *World) any { return w.auditWith }},
	{StepDoc{"Audit records and logs", `^no audit record for "([^"]*)" was written$`,
		`Then no audit record for "inventory.Check" was written`,
		"The audit middleware wrote no record of the command.", ""},
		func(w *World) any { return w.noAudit }},
	{StepDoc{"Audit records and logs", `^a log line at "([^"]*)" contains "([^"]*)"$`,
		`Then a log line at "warn" contains "inventory.unknown_sku"`,
		"World.Logger wrote a line at this level (debug, info, warn, error) whose message or a field's value contains the text.", ""},
		func(w *World) any { return func(level, text string) error { return w.logLine(level, text, false) } }},
	{StepDoc{"Audit records and logs", `^a log line at "([^"]*)" contains "([^"]*)" with:$`,
		`Then a log line at "warn" contains "call" with:`,
		"Like the step above, and the line has these fields (field | value rows; paths and values as in the response steps).", argTable},
		func(w *World) any { return func(level, text string) error { return w.logLine(level, text, true) } }},
	{StepDoc{"Audit records and logs", `^no log line at "([^"]*)" or above was written$`,
		`Then no log line at "error" or above was written`,
		"World.Logger wrote nothing at this level or a more severe one.", ""},
		func(w *World) any { return w.noLogAbove }},
}

// Vocabulary returns the built-in steps, in the order of the
// documentation.
func Vocabulary() []StepDoc {
	out := make([]StepDoc, len(steps))
	for i, s := range steps {
		out[i] = s.StepDoc
	}
	return out
}

// register adds the built-in steps, bound to w, to a scenario.
func register(sc *godog.ScenarioContext, w *World) {
	for _, s := range steps {
		sc.Step(s.Pattern, s.bind(w))
	}
}

// ---- calls and responses ----

func (w *World) callWith(name string) error {
	doc, err := document(w.step)
	if err != nil {
		return err
	}
	return w.Invoke(name, doc)
}

// response returns the last response, or an error when there is none.
func (w *World) response() (*Response, error) {
	r := w.Response()
	if r == nil {
		return nil, errors.New("no command was called and no request was sent in this scenario")
	}
	return r, nil
}

// describe says what the last response was, for failure messages.
func describe(r *Response) string {
	switch {
	case r.Err != nil && r.Header == nil:
		return fmt.Sprintf("the call failed with code %q (status %d): %s", r.Err.Code(), r.Status, r.Err.Error())
	case len(r.Body) == 0:
		return fmt.Sprintf("the response has status %d and no body", r.Status)
	default:
		return fmt.Sprintf("the response has status %d and body\n  %s", r.Status, pretty(r.Body))
	}
}

// body returns the last response's JSON body, decoded.
func (w *World) body() (any, *Response, error) {
	r, err := w.response()
	if err != nil {
		return nil, nil, err
	}
	if len(r.Body) == 0 {
		return nil, r, errors.New(describe(r))
	}
	v, err := codec.Parse(r.Body)
	if err != nil {
		return nil, r, fmt.Errorf("the response body is not JSON (%v): %q", jsonError{err}, r.Body)
	}
	return v, r, nil
}

func (w *World) succeeds() error {
	r, err := w.response()
	if err != nil {
		return err
	}
	if r.Err != nil || r.Status >= 400 {
		return errors.New(describe(r))
	}
	return nil
}

func (w *World) responseMatches(subset bool) error {
	doc, err := document(w.step)
	if err != nil {
		return err
	}
	want, err := codec.Parse(doc)
	if err != nil {
		return err
	}
	got, r, err := w.body()
	if err != nil {
		return err
	}
	if err := match("", want, got, subset); err != nil {
		return fmt.Errorf("%w; %s", err, describe(r))
	}
	return nil
}

// field returns the value at path in the response body.
func (w *World) field(path string) (any, bool, *Response, error) {
	got, r, err := w.body()
	if err != nil {
		return nil, false, r, err
	}
	v, ok, err := lookupPath(got, path)
	return v, ok, r, err
}

func (w *World) fieldIs(path, want string) error {
	v, ok, r, err := w.field(path)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("the response has no field %q; %s", path, describe(r))
	}
	if !valueIs(v, want) {
		return fmt.Errorf("the response field %q is %s, not %q", path, show(v), want)
	}
	return nil
}

func (w *World) fieldIsUUID(path string) error {
	v, ok, r, err := w.field(path)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("the response has no field %q; %s", path, describe(r))
	}
	s, isString := v.(string)
	if !isString || uuid.Validate(s) != nil || len(s) != 36 {
		return fmt.Errorf("the response field %q is %s, not a UUID", path, show(v))
	}
	return nil
}

func (w *World) fieldNotEmpty(path string) error {
	v, ok, r, err := w.field(path)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("the response has no field %q; %s", path, describe(r))
	}
	if isEmpty(v) {
		return fmt.Errorf("the response field %q is empty: %s", path, show(v))
	}
	return nil
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func (w *World) fieldAbsent(path string) error {
	v, ok, _, err := w.field(path)
	if err != nil {
		return err
	}
	if ok {
		return fmt.Errorf("the response field %q is present: %s", path, show(v))
	}
	return nil
}

// ---- errors ----

// failure returns the error of the last response, or an error saying that
// it succeeded.
func (w *World) failure() (*Response, error) {
	r, err := w.response()
	if err != nil {
		return nil, err
	}
	if r.Err == nil {
		return nil, fmt.Errorf("the call succeeded; %s", describe(r))
	}
	return r, nil
}

func (w *World) failsWithCode(code string) error {
	r, err := w.failure()
	if err != nil {
		return err
	}
	if r.Err.Code() != code {
		return fmt.Errorf("the call failed with code %q, not %q; %s", r.Err.Code(), code, describe(r))
	}
	return nil
}

func (w *World) failsWithStatus(status int) error {
	r, err := w.failure()
	if err != nil {
		return err
	}
	if r.Status != status {
		return fmt.Errorf("the call failed with status %d, not %d; %s", r.Status, status, describe(r))
	}
	return nil
}

func (w *World) errorMessage(want string) error {
	r, err := w.failure()
	if err != nil {
		return err
	}
	got := r.Err.Message()
	if r.Header != nil { // an HTTP error body: the message as sent
		var b struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(r.Body, &b) == nil {
			got = b.Message
		}
	}
	if got != want {
		return fmt.Errorf("the error message is %q, not %q", got, want)
	}
	return nil
}

func (w *World) errorMessageIn(lang, want string) error {
	r, err := w.failure()
	if err != nil {
		return err
	}
	if got := w.I18n.Localize(r.Err, lang); got != want {
		return fmt.Errorf("the error message in %q is %q, not %q (bundle languages: %v)", lang, got, want, w.I18n.Languages())
	}
	return nil
}

// ---- fakes ----

// entry returns the command name of the scenario's catalog.
func (w *World) entry(name string) (catalog.Entry, error) {
	e, ok := w.Catalog.Entry(name)
	if !ok {
		return nil, fmt.Errorf("no command %q in the catalog (it has %s)", name, commandNames(w.Catalog))
	}
	return e, nil
}

// replace installs fake as the command name for the rest of the scenario.
func (w *World) replace(name string, fake catalog.AnyFunc) error {
	undo, err := catalog.ReplaceAny(w.Catalog, name, fake)
	if err != nil {
		return err
	}
	w.Cleanup(undo)
	return nil
}

func (w *World) returns(name string) error {
	e, err := w.entry(name)
	if err != nil {
		return err
	}
	doc, err := document(w.step)
	if err != nil {
		return err
	}
	if err := codec.Unmarshal(doc, e.NewResponse()); err != nil {
		return fmt.Errorf("the response of %s does not decode into %v: %w", name, e.Spec().Response, jsonError{err})
	}
	return w.replace(name, func(_ context.Context, _, resp any) error {
		return json.Unmarshal(doc, resp)
	})
}

func (w *World) failsWith(name, code string, withParams bool) error {
	if _, err := w.entry(name); err != nil {
		return err
	}
	def, ok := errs.Lookup(code)
	if !ok {
		var kinds []string
		for _, k := range errs.Kinds() {
			kinds = append(kinds, k.Code())
		}
		return fmt.Errorf("error code %q is not defined in this process: define it with errs.Define, or use a kind's code (%s)",
			code, strings.Join(kinds, ", "))
	}
	var params []errs.Param
	if withParams {
		if w.step == nil || w.step.Argument == nil || w.step.Argument.DataTable == nil {
			return errors.New("the step needs a table of name | value rows")
		}
		rows, err := tableRows(w.step.Argument.DataTable)
		if err != nil {
			return err
		}
		for _, r := range rows {
			params = append(params, errs.P(r[0], r[1]))
		}
	}
	e := def.New(params...)
	return w.replace(name, func(context.Context, any, any) error { return e })
}

func (w *World) recorded(name string) error {
	e, err := w.entry(name)
	if err != nil {
		return err
	}
	if !e.Local() {
		return fmt.Errorf("%s has no function in this process (it is declared or routed elsewhere): fake it with %q returns: or %q fails with code", name, name, name)
	}
	return nil
}

// fake makes the named fake's value for this scenario.
func (w *World) fake(name string) (any, error) {
	f, ok := w.suite.cfg.fakes[name]
	if !ok {
		names := make([]string, 0, len(w.suite.cfg.fakes))
		for n := range w.suite.cfg.fakes {
			names = append(names, strconv.Quote(n))
		}
		slices.Sort(names)
		if len(names) == 0 {
			return nil, fmt.Errorf("no fake named %q: the suite names none (see bdd.Fakes)", name)
		}
		return nil, fmt.Errorf("no fake named %q: the suite names %s (see bdd.Fakes)", name, strings.Join(names, ", "))
	}
	v, err := f(w)
	if err != nil {
		return nil, fmt.Errorf("fake %q: %w", name, err)
	}
	if v == nil {
		return nil, fmt.Errorf("fake %q made nil", name)
	}
	return v, nil
}

var (
	typeContext = reflect.TypeFor[context.Context]()
	typeError   = reflect.TypeFor[error]()
)

func (w *World) replaceCommand(name, fakeName string) error {
	e, err := w.entry(name)
	if err != nil {
		return err
	}
	v, err := w.fake(fakeName)
	if err != nil {
		return err
	}
	switch f := v.(type) {
	case catalog.AnyFunc:
		return w.replace(name, f)
	case func(context.Context, any, any) error:
		return w.replace(name, f)
	}
	spec := e.Spec()
	ft := reflect.TypeOf(v)
	if ft.Kind() != reflect.Func || ft.NumIn() != 2 || ft.NumOut() != 2 ||
		ft.In(0) != typeContext || ft.In(1) != spec.Request || ft.Out(0) != spec.Response || ft.Out(1) != typeError {
		return fmt.Errorf("fake %q is a %v; %s needs a catalog.AnyFunc or a func(context.Context, %v) (%v, error)",
			fakeName, ft, name, spec.Request, spec.Response)
	}
	fv := reflect.ValueOf(v)
	return w.replace(name, func(ctx context.Context, req, resp any) error {
		out := fv.Call([]reflect.Value{reflect.ValueOf(&ctx).Elem(), reflect.ValueOf(req).Elem()})
		if err, _ := out[1].Interface().(error); err != nil {
			return err
		}
		reflect.ValueOf(resp).Elem().Set(out[0])
		return nil
	})
}

// replaceDependency puts the named fake in place of a dependency. The
// dependency's type is known only at run time, so the value is checked
// against the type it was provided as, then installed untyped
// (catalog.ReplaceDep with T = any stores the value itself, which typed
// lookups then assert to their type).
func (w *World) replaceDependency(dep, fakeName string) error {
	var info *catalog.DependencyInfo
	deps := w.Catalog.Dependencies()
	var names []string
	for i := range deps {
		names = append(names, deps[i].Name)
		if deps[i].Name == dep {
			info = &deps[i]
		}
	}
	if info == nil {
		if len(names) == 0 {
			names = []string{"none"}
		}
		return fmt.Errorf("no dependency %q is provided in the catalog (it has %s)", dep, strings.Join(names, ", "))
	}
	v, err := w.fake(fakeName)
	if err != nil {
		return err
	}
	vt := reflect.TypeOf(v)
	fits := vt == info.Type || (info.Type.Kind() == reflect.Interface && vt.Implements(info.Type))
	if !fits {
		return fmt.Errorf("fake %q is a %v, which cannot stand for dependency %q of type %v", fakeName, vt, dep, info.Type)
	}
	undo, err := catalog.ReplaceDep(w.Catalog, catalog.Dep[any](dep), v)
	if err != nil {
		return err
	}
	w.Cleanup(undo)
	return nil
}

// ---- recorded calls ----

func (w *World) calledTimes(name string, n int) error {
	if _, err := w.entry(name); err != nil {
		return err
	}
	calls := w.Calls(name)
	if len(calls) != n {
		return fmt.Errorf("%s was called %s, not %s%s", name, count(len(calls), "time"), count(n, "time"), listCalls(calls))
	}
	return nil
}

func (w *World) calledWith(name string) error {
	if _, err := w.entry(name); err != nil {
		return err
	}
	doc, err := document(w.step)
	if err != nil {
		return err
	}
	want, err := codec.Parse(doc)
	if err != nil {
		return err
	}
	calls := w.Calls(name)
	if len(calls) == 0 {
		return fmt.Errorf("%s was not called", name)
	}
	var first error
	for _, c := range calls {
		got, err := codec.Parse(c.Request)
		if err != nil {
			return err
		}
		if err := match("", want, got, true); err == nil {
			return nil
		} else if first == nil {
			first = err
		}
	}
	return fmt.Errorf("no call of %s has that request (first call: %v)%s", name, first, listCalls(calls))
}

// count returns "1 <noun>" or "<n> <noun>s".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func listCalls(calls []Call) string {
	if len(calls) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("; the calls' requests:")
	for i, c := range calls {
		fmt.Fprintf(&b, "\n  %d. %s", i+1, c.Request)
	}
	return b.String()
}

// ---- HTTP ----

var envVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func (w *World) serviceAt(raw string) error {
	var missing []string
	s := envVar.ReplaceAllStringFunc(raw, func(m string) string {
		k := m[2 : len(m)-1]
		v, ok := os.LookupEnv(k)
		if !ok || v == "" {
			missing = append(missing, k)
		}
		return v
	})
	if len(missing) > 0 {
		return fmt.Errorf("the service URL %q needs the environment variables %s", raw, strings.Join(missing, ", "))
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("the service URL %q is not an absolute http or https URL", s)
	}
	w.baseURL = s
	return nil
}

func (w *World) requestHeaders() error {
	if w.step == nil || w.step.Argument == nil || w.step.Argument.DataTable == nil {
		return errors.New("the step needs a table of name | value rows")
	}
	rows, err := tableRows(w.step.Argument.DataTable)
	if err != nil {
		return err
	}
	h := http.Header{}
	for _, r := range rows {
		h.Add(r[0], strings.TrimSpace(r[1]))
	}
	w.headers = h
	return nil
}

var methodRE = regexp.MustCompile(`^[A-Z]+$`)

func (w *World) send(method, path string, withBody bool) error {
	if !methodRE.MatchString(method) {
		return fmt.Errorf("%q is not an HTTP method (write it in capitals: GET, POST, ...)", method)
	}
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("the path %q must start with /", path)
	}
	var body []byte
	if withBody {
		doc, err := document(w.step)
		if err != nil {
			return err
		}
		body = doc
	}
	r, err := http.NewRequest(method, path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if withBody {
		r.Header.Set("Content-Type", "application/json")
		if ct := w.headers.Get("Content-Type"); ct != "" {
			r.Header.Set("Content-Type", ct)
		}
	} else {
		r.Body, r.ContentLength = http.NoBody, 0
	}
	return w.Send(r)
}

func (w *World) statusIs(status int) error {
	r, err := w.response()
	if err != nil {
		return err
	}
	if r.Status != status {
		return fmt.Errorf("the response status is %d, not %d; %s", r.Status, status, describe(r))
	}
	return nil
}

func (w *World) httpResponse() (*Response, error) {
	r, err := w.response()
	if err != nil {
		return nil, err
	}
	if r.Header == nil {
		return nil, errors.New("the last response is a command's, which has no headers: send a request first")
	}
	return r, nil
}

func (w *World) headerIs(name, want string) error {
	r, err := w.httpResponse()
	if err != nil {
		return err
	}
	vs := r.Header.Values(name)
	if !slices.Contains(vs, want) {
		return fmt.Errorf("the response header %q is %q, not %q", name, vs, want)
	}
	return nil
}

func (w *World) headerNotEmpty(name string) error {
	r, err := w.httpResponse()
	if err != nil {
		return err
	}
	if strings.TrimSpace(r.Header.Get(name)) == "" {
		return fmt.Errorf("the response has no header %q (it has %s)", name, headerNames(r.Header))
	}
	return nil
}

func headerNames(h http.Header) string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// ---- audit and logs ----

func (w *World) auditRecords(command string) []any {
	var out []any
	for _, r := range w.Audit.Records() {
		if r.Command != command {
			continue
		}
		b, err := json.Marshal(r)
		if err != nil {
			continue
		}
		v, err := codec.Parse(b)
		if err == nil {
			out = append(out, v)
		}
	}
	return out
}

func (w *World) listAudit() string {
	rs := w.Audit.Records()
	if len(rs) == 0 {
		return "; no audit record was written (is audit.WithSink(w.Audit) set up, and the command auditable?)"
	}
	var b strings.Builder
	b.WriteString("; the records:")
	for i, r := range rs {
		j, _ := json.Marshal(r)
		fmt.Fprintf(&b, "\n  %d. %s", i+1, j)
	}
	return b.String()
}

func (w *World) auditOutcome(command, outcome string) error {
	for _, r := range w.Audit.Records() {
		if r.Command == command && r.Outcome == outcome {
			return nil
		}
	}
	return fmt.Errorf("no audit record for %s with outcome %q%s", command, outcome, w.listAudit())
}

func (w *World) auditWith(command string) error {
	doc, err := document(w.step)
	if err != nil {
		return err
	}
	want, err := codec.Parse(doc)
	if err != nil {
		return err
	}
	var first error
	for _, got := range w.auditRecords(command) {
		if err := match("", want, got, true); err == nil {
			return nil
		} else if first == nil {
			first = err
		}
	}
	if first != nil {
		return fmt.Errorf("no audit record for %s matches (first record: %v)%s", command, first, w.listAudit())
	}
	return fmt.Errorf("no audit record for %s%s", command, w.listAudit())
}

func (w *World) noAudit(command string) error {
	if rs := w.auditRecords(command); len(rs) > 0 {
		return fmt.Errorf("%d audit records for %s were written%s", len(rs), command, w.listAudit())
	}
	return nil
}

func parseLevel(s string) (zapcore.Level, error) {
	l, err := zapcore.ParseLevel(s)
	if err != nil || l > zapcore.ErrorLevel {
		return 0, fmt.Errorf("log level %q: use debug, info, warn or error", s)
	}
	return l, nil
}

// entryFields returns the fields of a log entry as a JSON object.
func entryFields(e observer.LoggedEntry) map[string]any {
	b, err := json.Marshal(e.ContextMap())
	if err != nil {
		return map[string]any{}
	}
	v, err := codec.Parse(b)
	if err != nil {
		return map[string]any{}
	}
	m, _ := v.(map[string]any)
	return m
}

func entryContains(e observer.LoggedEntry, text string) bool {
	if strings.Contains(e.Message, text) {
		return true
	}
	for _, v := range entryFields(e) {
		s, ok := v.(string)
		if !ok {
			s = show(v)
		}
		if strings.Contains(s, text) {
			return true
		}
	}
	return false
}

func (w *World) logLine(level, text string, withFields bool) error {
	lvl, err := parseLevel(level)
	if err != nil {
		return err
	}
	var rows [][2]string
	if withFields {
		if w.step == nil || w.step.Argument == nil || w.step.Argument.DataTable == nil {
			return errors.New("the step needs a table of field | value rows")
		}
		if rows, err = tableRows(w.step.Argument.DataTable); err != nil {
			return err
		}
	}
	var near []string
	for _, e := range w.Logs.FilterLevelExact(lvl).All() {
		if !entryContains(e, text) {
			continue
		}
		fields := entryFields(e)
		ok := true
		for _, r := range rows {
			v, found, err := lookupPath(fields, r[0])
			if err != nil {
				return err
			}
			if !found || !valueIs(v, strings.TrimSpace(r[1])) {
				ok = false
				near = append(near, fmt.Sprintf("field %q is %s, not %q in %q %s", r[0], show(v), strings.TrimSpace(r[1]), e.Message, show(fields)))
				break
			}
		}
		if ok {
			return nil
		}
	}
	msg := fmt.Sprintf("no log line at %s contains %q", lvl, text)
	if len(near) > 0 {
		msg += "; lines that contain it differ: " + strings.Join(near, "; ")
	}
	return errors.New(msg + w.listLogs())
}

func (w *World) noLogAbove(level string) error {
	lvl, err := parseLevel(level)
	if err != nil {
		return err
	}
	var found []string
	for _, e := range w.Logs.All() {
		if e.Level >= lvl {
			found = append(found, fmt.Sprintf("%s %q %s", e.Level, e.Message, show(entryFields(e))))
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("%d log lines at %s or above were written:\n  %s", len(found), lvl, strings.Join(found, "\n  "))
	}
	return nil
}

func (w *World) listLogs() string {
	all := w.Logs.All()
	if len(all) == 0 {
		return "; nothing was logged (do the middleware log to w.Logger or the context's logger?)"
	}
	var b strings.Builder
	b.WriteString("; the lines:")
	for i, e := range all {
		fmt.Fprintf(&b, "\n  %d. %s %q %s", i+1, e.Level, e.Message, show(entryFields(e)))
	}
	return b.String()
}

// ---- events ----

// topic returns the catalog entry of the topic named name, or an error
// when there is none.
func (w *World) topic(name string) error {
	e, ok := w.Catalog.Entry(name)
	if !ok {
		return fmt.Errorf("no topic %q in the catalog (it has %s)", name, commandNames(w.Catalog))
	}
	if _, ok := events.TopicKey.Get(e.Spec().Attributes); !ok || e.Spec().Kind != middleware.Event {
		return fmt.Errorf("%s is a command, not a topic", name)
	}
	return nil
}

// subscriber checks that name is a subscriber of the catalog.
func (w *World) subscriber(name string) error {
	e, ok := w.Catalog.Entry(name)
	if !ok {
		return fmt.Errorf("no subscriber %q in the catalog (it has %s)", name, commandNames(w.Catalog))
	}
	if _, ok := events.GroupKey.Get(e.Spec().Attributes); !ok || e.Spec().Kind != middleware.Event {
		return fmt.Errorf("%s is not a subscriber", name)
	}
	return nil
}

func (w *World) published(topic string) error {
	if err := w.topic(topic); err != nil {
		return err
	}
	if len(w.Events(topic)) == 0 {
		return fmt.Errorf("no event was published on %s%s", topic, listEvents(w.Events("")))
	}
	return nil
}

func (w *World) notPublished(topic string) error {
	if err := w.topic(topic); err != nil {
		return err
	}
	if got := w.Events(topic); len(got) > 0 {
		return fmt.Errorf("%s published on %s%s", count(len(got), "event"), topic, listEvents(got))
	}
	return nil
}

func (w *World) publishedWith(topic string) error {
	if err := w.topic(topic); err != nil {
		return err
	}
	evs := w.Events(topic)
	if len(evs) == 0 {
		return fmt.Errorf("no event was published on %s%s", topic, listEvents(w.Events("")))
	}
	payloads := make([]json.RawMessage, len(evs))
	for i, e := range evs {
		payloads[i] = e.Payload
	}
	if err := w.anyContains(payloads); err != nil {
		return fmt.Errorf("no event published on %s has that payload (first event: %v)%s", topic, err, listEvents(evs))
	}
	return nil
}

func (w *World) receivedTimes(name string, n int) error {
	if err := w.subscriber(name); err != nil {
		return err
	}
	calls := w.Calls(name)
	if len(calls) != n {
		return fmt.Errorf("%s received %s, not %s%s", name, count(len(calls), "event"), count(n, "event"), listCalls(calls))
	}
	return nil
}

func (w *World) receivedWith(name string) error {
	if err := w.subscriber(name); err != nil {
		return err
	}
	calls := w.Calls(name)
	if len(calls) == 0 {
		return fmt.Errorf("%s received no event", name)
	}
	payloads := make([]json.RawMessage, len(calls))
	for i, c := range calls {
		payloads[i] = c.Request
	}
	if err := w.anyContains(payloads); err != nil {
		return fmt.Errorf("no event that %s received has that payload (first event: %v)%s", name, err, listCalls(calls))
	}
	return nil
}

// anyContains returns nil when one of docs contains the step's JSON
// document, and the first mismatch otherwise.
func (w *World) anyContains(docs []json.RawMessage) error {
	doc, err := document(w.step)
	if err != nil {
		return err
	}
	want, err := codec.Parse(doc)
	if err != nil {
		return err
	}
	var first error
	for _, d := range docs {
		got, err := codec.Parse(d)
		if err != nil {
			return err
		}
		if err := match("", want, got, true); err == nil {
			return nil
		} else if first == nil {
			first = err
		}
	}
	return first
}

// listEvents lists events for failure messages.
func listEvents(evs []Event) string {
	if len(evs) == 0 {
		return "; no event was published in this scenario"
	}
	var b strings.Builder
	b.WriteString("; published:")
	for _, e := range evs {
		fmt.Fprintf(&b, "\n  %s %s", e.Topic, e.Payload)
	}
	return b.String()
}
