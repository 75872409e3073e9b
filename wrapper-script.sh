#!/bin/sh
# Points the function's runtime at lambda-trace-proxy instead of the real
# Runtime API, then becomes the runtime.
#
# Managed runtimes (Node.js, Python, Java, .NET, Ruby) call it with the runtime
# command and its arguments when AWS_LAMBDA_EXEC_WRAPPER=/opt/wrapper-script.sh.
# OS-only runtimes (provided.al2023, provided.al2) ignore AWS_LAMBDA_EXEC_WRAPPER:
# there, make your `bootstrap` run  exec /opt/wrapper-script.sh ./your-binary
# (see README, "OS-only runtimes").
#
# "$@" keeps every argument exactly as given: spaces, empty strings, globs.

# Extensions do not see the log stream name; the span's faas.instance needs it.
# Handing it over through a file is the only channel from the runtime to us.
if [ -n "${AWS_LAMBDA_LOG_STREAM_NAME:-}" ]; then
  printf '%s' "$AWS_LAMBDA_LOG_STREAM_NAME" > "/tmp/.lambda-trace-proxy-${LRAP_LISTENER_PORT:-9009}.instance" 2>/dev/null || true
fi

export AWS_LAMBDA_RUNTIME_API="127.0.0.1:${LRAP_LISTENER_PORT:-9009}"
exec "$@"
