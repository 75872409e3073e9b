export const HELP_TEXT = `lambda-trace-proxy: an AWS Lambda extension that proxies the Runtime API and
traces every invocation with OpenTelemetry, with no change to the function.

Lambda starts it from /opt/extensions; it is not meant to be run by hand.
Attach the layer and set on the function:
  AWS_LAMBDA_EXEC_WRAPPER=/opt/wrapper-script.sh
  OTEL_EXPORTER_OTLP_ENDPOINT=http://your-collector:4318

Settings (environment variables):
  LRAP_LISTENER_PORT          proxy port on 127.0.0.1 (default 9009)
  LRAP_RUNTIME_API_ENDPOINT   upstream Runtime API host:port (default AWS_LAMBDA_RUNTIME_API)
  LRAP_LOG_LEVEL              debug | info | warn | error | none (default: OTEL_LOG_LEVEL, else warn)
  LRAP_FLUSH                  adaptive | end | periodic:<ms> | shutdown (default adaptive)
  LRAP_XRAY_PARENT_REWRITE    true | false: point Lambda-Runtime-Trace-Id at our span (default true)
  LRAP_XRAY_SIGV4             true | false: SigV4-sign exports (default: only to X-Ray's OTLP endpoint)
  LRAP_FLUSH_TIMEOUT_MS       most an invocation is held for an export (default 2000)
  OTEL_SDK_DISABLED=true      forward only, no tracing
  OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG,
  OTEL_PROPAGATORS, OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS,
  OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_EXPORTER_OTLP_COMPRESSION (and their
  _TRACES_ forms), OTEL_BSP_MAX_QUEUE_SIZE, LRAP_TELEMETRY_API, LRAP_PLATFORM_WAIT_MS, OTEL_METRICS_EXPORTER
  Bad values are logged once each (what was used instead); the README has the full table.

Options:
  --version   print the version
  --help      print this text
`;
