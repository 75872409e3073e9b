package e2e;

import com.amazonaws.services.lambda.runtime.Context;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The e2e tests' function for AWS's Java runtime interface client: one handler that picks what
 * to do from the event (see ../README.md in test/e2e: the same contract as the Node, Python and
 * Go functions). An API Gateway event (it has "httpMethod") gets an API Gateway response whose
 * body reports the traceparent the function received; other events name a "scenario".
 * Handler string: e2e.Handlers::handler (a plain method, so it can declare a checked exception).
 */
public class Handlers {

  /** A failure the function means to report: a checked exception, declared. */
  public static class OrderException extends Exception {
    public OrderException(String message) {
      super(message);
    }
  }

  public Object handler(Map<String, Object> event, Context context) throws OrderException {
    if (event.containsKey("httpMethod") || event.containsKey("requestContext")) {
      return apigw(event, context);
    }
    String scenario = String.valueOf(event.get("scenario"));
    switch (scenario) {
      case "success": {
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("ok", true);
        result.put("runtime", "java");
        result.put("requestId", context.getAwsRequestId());
        result.put("traceparent", header(event, "traceparent"));
        return result;
      }
      case "handled":
        throw new OrderException("order 42 could not be placed");
      case "long-error": {
        // A message of `messageBytes` characters thrown from `depth` nested calls: the client
        // sends message and stack in Lambda-Runtime-Function-XRay-Error-Cause (it caps that at 1 MiB).
        int bytes = ((Number) event.getOrDefault("messageBytes", 40000)).intValue();
        int depth = ((Number) event.getOrDefault("depth", 200)).intValue();
        String message = "validation failed for input: " + "0123456789abcdef".repeat(bytes / 16 + 1);
        return nest(depth, message.substring(0, bytes));
      }
      case "unhandled": {
        // A bug: nothing catches it.
        int[] items = new int[0];
        return items[Integer.parseInt("1")];
      }
      case "big": {
        int bytes = ((Number) event.get("bytes")).intValue();
        // Serialised as a JSON string: the two quotes make it exactly `bytes` bytes.
        return "x".repeat(bytes - 2);
      }
      case "sleep": {
        long ms = ((Number) event.get("ms")).longValue();
        try {
          Thread.sleep(ms);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return Map.of("slept", ms);
      }
      default:
        throw new IllegalArgumentException("unknown scenario " + scenario);
    }
  }

  private static int nest(int n, String message) throws OrderException {
    if (n == 0) throw new OrderException(message);
    return nest(n - 1, message) + 1; // not a tail call: every frame stays on the stack
  }

  private static Object apigw(Map<String, Object> event, Context context) {
    String body = "{\"traceparent\":" + json(header(event, "traceparent"))
        + ",\"tracestate\":" + json(header(event, "tracestate"))
        + ",\"awsRequestId\":" + json(context.getAwsRequestId()) + "}";
    Map<String, Object> response = new LinkedHashMap<>();
    response.put("statusCode", 200);
    response.put("headers", Map.of("content-type", "application/json"));
    response.put("body", body);
    return response;
  }

  /** A header of an API Gateway / ALB event, any case, from headers or multiValueHeaders. */
  private static String header(Map<String, Object> event, String name) {
    if (event.get("headers") instanceof Map<?, ?> headers) {
      for (Map.Entry<?, ?> e : headers.entrySet()) {
        if (name.equalsIgnoreCase(String.valueOf(e.getKey())) && e.getValue() != null) {
          return String.valueOf(e.getValue());
        }
      }
    }
    if (event.get("multiValueHeaders") instanceof Map<?, ?> headers) {
      for (Map.Entry<?, ?> e : headers.entrySet()) {
        if (name.equalsIgnoreCase(String.valueOf(e.getKey())) && e.getValue() instanceof List<?> values && !values.isEmpty()) {
          return String.valueOf(values.get(values.size() - 1));
        }
      }
    }
    return null;
  }

  private static String json(String s) {
    if (s == null) return "null";
    StringBuilder out = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') out.append('\\').append(c);
      else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
      else out.append(c);
    }
    return out.append('"').toString();
  }
}
