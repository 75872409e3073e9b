// Sample function for the real Go runtime client (github.com/aws/aws-lambda-go),
// built as a provided.al2023-style `bootstrap`. The handler is picked by $_HANDLER
// (the part after the last dot, so "handler.echo" and "echo" both work); see
// ../README.md for the wire facts.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// OrderError is a custom error type: aws-lambda-go reports its type name.
type OrderError struct{ Order string }

func (e *OrderError) Error() string { return "order " + e.Order + " could not be placed" }

type httpEvent struct {
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
}

// header looks a header up ignoring case (API Gateway v1/v2, ALB).
func (ev *httpEvent) header(name string) *string {
	for k, v := range ev.Headers {
		if strings.EqualFold(k, name) {
			return &v
		}
	}
	for k, vs := range ev.MultiValueHeaders {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return &vs[len(vs)-1]
		}
	}
	return nil
}

type params struct {
	Bytes   int    `json:"bytes"`
	Ms      int    `json:"ms"`
	Chunks  int    `json:"chunks"`
	PauseMs int    `json:"pauseMs"`
	Message string `json:"message"`
}

// slowReader yields n chunks, pause apart; with fail set, it then fails instead of ending.
type slowReader struct {
	n, i  int
	pause time.Duration
	fail  bool
}

func (r *slowReader) Read(p []byte) (int, error) {
	if r.i >= r.n {
		if r.fail {
			return 0, &OrderError{Order: "stream"}
		}
		return 0, io.EOF
	}
	if r.i > 0 {
		time.Sleep(r.pause)
	}
	r.i++
	return copy(p, fmt.Sprintf("chunk %d/%d\n", r.i, r.n)), nil
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var p params
	_ = json.Unmarshal(raw, &p) // events that are not objects simply get the defaults
	name := os.Getenv("_HANDLER")
	name = name[strings.LastIndex(name, ".")+1:]
	switch name {
	case "echo":
		return raw, nil
	case "http":
		var ev httpEvent
		_ = json.Unmarshal(raw, &ev)
		lc, _ := lambdacontext.FromContext(ctx)
		body, _ := json.Marshal(map[string]any{
			"traceparent":        ev.header("traceparent"),
			"tracestate":         ev.header("tracestate"),
			"xAmznTraceIdHeader": ev.header("x-amzn-trace-id"),
			"xAmznTraceIdEnv":    os.Getenv("_X_AMZN_TRACE_ID"),
			"awsRequestId":       lc.AwsRequestID,
			"invokedFunctionArn": lc.InvokedFunctionArn,
		})
		return map[string]any{
			"statusCode": 200,
			"headers":    map[string]string{"content-type": "application/json"},
			"body":       string(body),
		}, nil
	case "fail":
		order := p.Message
		if order == "" {
			order = "42"
		}
		return nil, &OrderError{Order: order}
	case "failPlain":
		return nil, errors.New("a plain errors.New error")
	case "panic":
		panic("the handler panicked on purpose")
	case "big":
		// Returned as an io.Reader, the body is posted raw: exactly p.Bytes bytes.
		if p.Bytes <= 0 {
			p.Bytes = 1024
		}
		return strings.NewReader(strings.Repeat("x", p.Bytes)), nil
	case "stream", "streamFail":
		// Not Lambda response streaming (aws-lambda-go has none): a buffered response
		// whose body the client uploads as it is produced, chunk by chunk. streamFail
		// makes the reader fail at the end, which aws-lambda-go reports in trailers.
		if p.Chunks <= 0 {
			p.Chunks = 5
		}
		if p.PauseMs <= 0 {
			p.PauseMs = 100
		}
		return &slowReader{n: p.Chunks, pause: time.Duration(p.PauseMs) * time.Millisecond, fail: name == "streamFail"}, nil
	case "sleep":
		if p.Ms <= 0 {
			p.Ms = 1000
		}
		time.Sleep(time.Duration(p.Ms) * time.Millisecond)
		return map[string]int{"slept": p.Ms}, nil
	case "crash":
		os.Exit(1)
	case "oom":
		// Takes memory until the memory size is enforced (the kernel kills the process);
		// bounded at 2 GiB so that an environment that does not enforce it sees a result.
		held := make([][]byte, 0, 2048)
		for i := 0; i < 2048; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = byte(i)
			}
			held = append(held, b)
			time.Sleep(time.Millisecond)
		}
		return map[string]int{"heldMb": len(held)}, nil
	}
	return nil, fmt.Errorf("unknown handler %q (from _HANDLER=%q)", name, os.Getenv("_HANDLER"))
}

func main() {
	lambda.Start(handle)
}
