export const HELP_TEXT = `lambda-trace-proxy: an AWS Lambda extension that proxies the Runtime API and
traces every invocation with OpenTelemetry, with no change to the function.

Lambda starts it from /opt/extensions; it is not meant to be run by hand.
Attach the layer and set on the function:
  AWS_LAMBDA_EXEC_WRAPPER=/opt/wrapper-script.sh
  OTEL_EXPORTER_OTLP_ENDPOINT=http://your-collector:4318

Settings (environment variables):
  LRAP_LISTENER_PORT          proxy port on 127.0.0.1 (default 9009)
  LRAP_RUNTIME_API_ENDPOINT   upstream Runtime API host:port (default AWS_LAMBDA_RUNTIME_API)
  LRAP_LOG_LEVEL              debug | info | warn | error | none (default warn; else OTEL_LOG_LEVEL)
  LRAP_FLUSH                  adaptive | end | periodic:<ms> | shutdown (default adaptive)
  LRAP_XRAY_PARENT_REWRITE    true | false: point Lambda-Runtime-Trace-Id at our span (default true)
  LRAP_XRAY_SIGV4             true | false: SigV4-sign exports (default: only to X-Ray's OTLP endpoint)
  LRAP_FLUSH_TIMEOUT_MS       most an invocation is held for an export (default 2000)
  OTEL_SDK_DISABLED=true      forward only, no tracing
  OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER(_ARG), OTEL_PROPAGATORS,
  OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT/_HEADERS/_PROTOCOL/_TIMEOUT/_COMPRESSION

Options:
  --version   print the version
  --help      print this text
`;
