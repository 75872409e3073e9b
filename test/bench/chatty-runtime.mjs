// A minimal custom runtime for test/bench/function-log.ts: for each invocation it writes
// LOG_KIB KiB of 100-byte lines to stdout (the function's log, which Lambda delivers to
// the extension over the Telemetry API), then answers {"ok":true}.
import http from 'node:http';

const [host, port] = (process.env.AWS_LAMBDA_RUNTIME_API ?? '').split(':');
const lines = 'x'.repeat(99).concat('\n').repeat(Math.round(Number(process.env.LOG_KIB ?? 0) * 1024 / 100));
const agent = new http.Agent({ keepAlive: true });

function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.headers));
    });
    req.on('error', reject);
    req.end(body);
  });
}

for (;;) {
  const headers = await call('GET', '/2018-06-01/runtime/invocation/next');
  if (lines.length > 0) await new Promise((resolve) => process.stdout.write(lines, resolve));
  await call('POST', `/2018-06-01/runtime/invocation/${headers['lambda-runtime-aws-request-id']}/response`, '{"ok":true}');
}
