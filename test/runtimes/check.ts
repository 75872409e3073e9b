// A one-event Lambda Runtime API that prints exactly what a runtime client sends.
// Usage: node test/runtimes/check.ts [--event JSON] [--timeout-ms N] [--post-status 202] -- <client command...>
// It starts <client> with AWS_LAMBDA_RUNTIME_API pointing at itself, serves one event on
// /next, answers every POST with --post-status (202; 413 and 403 get Lambda's error body), and prints each request twice: parsed (method, path,
// raw headers, body, raw trailers) and as the raw bytes off the socket (chunk framing
// included). It ends when the client comes back to /next (exit 0), exits (2) or hangs (1).
import http from "node:http";
import net from "node:net";
import { spawn } from "node:child_process";

const args = process.argv.slice(2);
const sep = args.indexOf("--");
const command = sep >= 0 ? args.slice(sep + 1) : [];
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && (sep < 0 || i < sep) ? (args[i + 1] ?? dflt) : dflt;
};
const event = opt("--event", '{"hello":"world"}');
const timeoutMs = Number(opt("--timeout-ms", "30000"));
const postStatus = Number(opt("--post-status", "202"));
const postBodies: Record<number, string> = {
  202: '{"status":"OK"}',
  403: '{"errorMessage":"State transition from Ready to InvocationResponse failed for runtime. Error: State transition is not allowed","errorType":"InvalidStateTransition"}',
  413: '{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}',
};
if (command.length === 0) {
  console.error("usage: node test/runtimes/check.ts [--event JSON] [--timeout-ms N] [--post-status N] -- <client command...>");
  process.exit(64);
}
const t0 = Date.now();
const ms = (): string => `+${String(Date.now() - t0).padStart(5)}ms`;
const preview = (b: Buffer, max = 1500): string =>
  b.length <= max ? JSON.stringify(b.toString("latin1")) : `${JSON.stringify(b.subarray(0, max).toString("latin1"))}… (${b.length} bytes in all)`;

let served = 0;
const api = http.createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks);
  console.log(`\n== ${ms()} ${req.method} ${req.url} HTTP/${req.httpVersion}`);
  console.log("rawHeaders:", JSON.stringify(req.rawHeaders));
  console.log(`body (${body.length} bytes):`, preview(body));
  console.log("rawTrailers:", JSON.stringify(req.rawTrailers));
  if (req.method === "GET" && (req.url ?? "").endsWith("/runtime/invocation/next")) {
    if (served++ > 0) return finish(0, "client is back on /next: the invoke is over");
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Lambda-Runtime-Aws-Request-Id": "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
      "Lambda-Runtime-Deadline-Ms": String(Date.now() + timeoutMs),
      "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:check",
      "Lambda-Runtime-Trace-Id": "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
    });
    res.end(event);
    return;
  }
  res.writeHead(postStatus, { "Content-Type": "application/json" }).end(postBodies[postStatus] ?? "{}");
});

// The client talks to this TCP tap, which logs the raw bytes and relays them to `api`.
const tap = net.createServer((down) => {
  const up = net.connect((api.address() as net.AddressInfo).port, "127.0.0.1").setNoDelay(true);
  down.on("data", (d: Buffer) => console.log(`<< ${ms()} raw ${d.length} bytes:`, preview(d, 600)));
  down.pipe(up).pipe(down);
  down.on("error", () => up.destroy());
  up.on("error", () => down.destroy());
});

api.listen(0, "127.0.0.1", () =>
  tap.listen(0, "127.0.0.1", () => {
    const runtimeApi = `127.0.0.1:${(tap.address() as net.AddressInfo).port}`;
    console.log(`== Runtime API on ${runtimeApi}; starting: ${command.join(" ")}`);
    const child = spawn(command[0] ?? "", command.slice(1), {
      env: { ...process.env, AWS_LAMBDA_RUNTIME_API: runtimeApi },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const relay = (s: NodeJS.ReadableStream): unknown =>
      s.on("data", (d: Buffer) => process.stdout.write(d.toString().replace(/^(?=.)/gm, "[client] ")));
    relay(child.stdout);
    relay(child.stderr);
    child.on("close", (code, signal) => finish(2, `client exited: code ${code}, signal ${signal}`));
    child.on("error", (err) => finish(2, `client failed to start: ${err.message}`));
    setTimeout(() => finish(1, `timed out after ${timeoutMs} ms`), timeoutMs).unref();
    finish = (code, why) => {
      console.log(`\n== ${ms()} ${why}`);
      child.removeAllListeners("close");
      child.kill("SIGKILL");
      setTimeout(() => process.exit(code), 50);
    };
  }),
);
let finish = (code: number, why: string): void => {
  console.log(why);
  process.exit(code);
};
