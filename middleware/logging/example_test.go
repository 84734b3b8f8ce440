package logging_test

import (
	"context"
	"os"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware/logging"
)

type LoginRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
	OTP      string `json:"otp" wego:"secret"`
}

type LoginResponse struct {
	Session string `json:"session" wego:"secret"`
}

func Example() {
	// A JSON logger without time stamps or durations, for a stable output.
	ec := log.EncoderConfig("json")
	ec.TimeKey = ""
	ec.EncodeDuration = func(_ time.Duration, e zapcore.PrimitiveArrayEncoder) { e.AppendString("…") }
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(ec), zapcore.Lock(os.Stdout), zapcore.DebugLevel))

	yes := true
	mw, err := logging.New(logging.Config{
		SuccessLevel: "info",
		Commands:     map[string]logging.CommandConfig{"auth.Login": {Bodies: &yes}},
	}, logging.WithLogger(logger))
	if err != nil {
		panic(err)
	}
	c := catalog.New()
	c.UseServerSide(mw)
	login, _ := catalog.RegisterIn(c, "auth.Login", func(_ context.Context, r LoginRequest) (LoginResponse, error) {
		if r.Password != "s3cret" {
			return LoginResponse{}, errs.Unauthenticated()
		}
		return LoginResponse{Session: "sess-1"}, nil
	})

	id, _ := log.ParseRequestID("req-1")
	ctx := log.ContextWithRequestID(context.Background(), id)
	_, _ = login.Call(ctx, LoginRequest{User: "ann", Password: "s3cret", OTP: "123456"})
	_, _ = login.Call(ctx, LoginRequest{User: "bob", Password: "guess"})
	// Output:
	// {"level":"info","msg":"call","command":"auth.Login","side":"server","duration":"…","code":"ok","request_id":"req-1","request":{"user":"ann","password":"[REDACTED]","otp":"[REDACTED]"},"response":{"session":"[REDACTED]"}}
	// {"level":"warn","msg":"call","command":"auth.Login","side":"server","duration":"…","code":"unauthenticated","status":401,"request_id":"req-1","error":"unauthenticated: Authentication is required.","request":{"user":"bob","password":"[REDACTED]","otp":"[REDACTED]"}}
}
