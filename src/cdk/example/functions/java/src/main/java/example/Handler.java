package example;

import java.util.Map;

/** Build with `mvn package` (aws-lambda-java-core not needed for a Map handler); the jar is the function's code. */
public class Handler {
  public Map<String, Object> handleRequest(Map<String, Object> event) {
    return Map.of("statusCode", 200, "order", event.getOrDefault("order", "none"));
  }
}
