package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware/audit"
)

type TransferRequest struct {
	From   string `json:"from" audit:"include"`
	To     string `json:"to" audit:"include"`
	Amount int    `json:"amount" audit:"include"`
	OTP    string `json:"otp" audit:"secret"`
	Memo   string `json:"memo"`
}

func clock() time.Time { return time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC) }

// Records of auditable commands go to the zap logger named "audit".
func Example() {
	ec := log.EncoderConfig("json")
	ec.TimeKey = ""
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(ec), zapcore.Lock(os.Stdout), zapcore.InfoLevel))

	a, err := audit.New(audit.DefaultConfig(), audit.WithLogger(logger), audit.WithClock(clock))
	if err != nil {
		panic(err)
	}
	defer a.Close()
	c := catalog.New()
	c.UseServerSide(a)
	transfer, _ := catalog.RegisterIn(c, "bank.Transfer",
		func(context.Context, TransferRequest) (string, error) { return "tx-1", nil },
		catalog.With(audit.Auditable.Value(true)))

	id, _ := log.ParseRequestID("req-1")
	ctx := audit.ContextWithPrincipal(log.ContextWithRequestID(context.Background(), id), "alice")
	_, _ = transfer.Call(ctx, TransferRequest{From: "A", To: "B", Amount: 10, OTP: "123456", Memo: "rent"})
	// Output:
	// {"level":"info","logger":"audit","msg":"audit","time":"2025-03-04T05:06:07.000000008Z","command":"bank.Transfer","side":"server","phase":"after","outcome":"ok","duration":0,"request_id":"req-1","principal":"alice","request":{"from":"A","to":"B","amount":10,"otp":"[REDACTED]"}}
}

// A file sink writes one JSON record per line.
func Example_file() {
	dir, _ := os.MkdirTemp("", "audit")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "audit.jsonl")

	a, err := audit.New(audit.Config{All: true, Sink: audit.SinkFile,
		File: audit.FileConfig{Path: path, Sync: audit.SyncAlways}}, audit.WithClock(clock))
	if err != nil {
		panic(err)
	}
	c := catalog.New()
	c.UseServerSide(a)
	transfer, _ := catalog.RegisterIn(c, "bank.Transfer",
		func(context.Context, TransferRequest) (string, error) { return "tx-1", nil })
	_, _ = transfer.Call(context.Background(), TransferRequest{From: "A", To: "B", Amount: 10})
	_ = a.Close()

	b, _ := os.ReadFile(path)
	fmt.Print(string(b))
	// Output:
	// {"time":"2025-03-04T05:06:07.000000008Z","command":"bank.Transfer","side":"server","phase":"after","outcome":"ok","duration_ns":0,"request":{"from":"A","to":"B","amount":10,"otp":"[REDACTED]"}}
}
