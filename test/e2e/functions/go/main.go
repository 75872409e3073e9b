// The e2e tests' function for AWS's Go runtime client (github.com/aws/aws-lambda-go), built as
// a provided.al2023-style `bootstrap` by test/e2e/functions/build.sh. One handler that picks
// what to do from the event; the contract is the same for the four languages (test/e2e/README.md).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// OrderError is a failure the function means to report: aws-lambda-go sends its type name.
type OrderError struct{ Order string }

func (e *OrderError) Error() string { return "order " + e.Order + " could not be placed" }

type event struct {
	Scenario          string              `json:"scenario"`
	Bytes             int                 `json:"bytes"`
	Ms                int                 `json:"ms"`
	HTTPMethod        string              `json:"httpMethod"`
	RequestContext    json.RawMessage     `json:"requestContext"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
}

// header looks a header up ignoring case (API Gateway v1/v2, ALB).
func (ev *event) header(name string) *string {
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

func handle(ctx context.Context, ev event) (any, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	if ev.HTTPMethod != "" || ev.RequestContext != nil {
		body, _ := json.Marshal(map[string]any{
			"traceparent":  ev.header("traceparent"),
			"tracestate":   ev.header("tracestate"),
			"awsRequestId": lc.AwsRequestID,
		})
		return map[string]any{
			"statusCode": 200,
			"headers":    map[string]string{"content-type": "application/json"},
			"body":       string(body),
		}, nil
	}
	switch ev.Scenario {
	case "success":
		return map[string]any{"ok": true, "runtime": "go", "requestId": lc.AwsRequestID, "traceparent": ev.header("traceparent")}, nil
	case "handled":
		return nil, &OrderError{Order: "42"}
	case "unhandled":
		// A bug: nothing recovers it. aws-lambda-go reports the panic, then the process exits.
		var items []int
		return items[len(ev.Scenario)], nil
	case "big":
		// Marshalled as a JSON string: the two quotes make it exactly ev.Bytes bytes.
		return strings.Repeat("x", ev.Bytes-2), nil
	case "sleep":
		time.Sleep(time.Duration(ev.Ms) * time.Millisecond)
		return map[string]int{"slept": ev.Ms}, nil
	}
	return nil, fmt.Errorf("unknown scenario %q", ev.Scenario)
}

func main() {
	lambda.Start(handle)
}
