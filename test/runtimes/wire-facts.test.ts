// Pins the wire facts of README.md: runs each real runtime client installed by install.sh
// against a one-event Runtime API and checks what it sends back. A client that is not
// installed is skipped (run test/runtimes/install.sh first).
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import type { AddressInfo } from "node:net";

const here = import.meta.dirname;
const installed = {
  node: existsSync(path.join(here, "node/node_modules/aws-lambda-ric/rapid-client.node")),
  go: existsSync(path.join(here, "go/bootstrap")),
  python: existsSync(path.join(here, "python/.venv/bin/python")),
};
type Client = keyof typeof installed;
// In CI (CI=true) a missing client is a failure, never a silent skip.
const skip = (c: Client): string | false => {
  if (installed[c]) return false;
  if (process.env.CI === "true") throw new Error(`${c} runtime client not installed in CI: test/runtimes/install.sh must run first (make test does)`);
  return `${c} client not installed: run test/runtimes/install.sh ${c}`;
};

interface Post {
  url: string;
  headers: http.IncomingHttpHeaders;
  trailers: NodeJS.Dict<string>;
  body: string;
}

/** Runs `run.sh <client> <handler>` for one event; returns what it POSTed and how it ended. */
async function invoke(client: Client, handler: string, event: unknown = {}, postStatus = 202) {
  const posts: Post[] = [];
  let nexts = 0;
  let done!: (how: string) => void;
  const finished = new Promise<string>((resolve) => (done = resolve));
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method === "GET") {
      if (nexts++ > 0) return done("next"); // back on /next: the invoke is over
      res.writeHead(200, {
        "Content-Type": "application/json",
        "Lambda-Runtime-Aws-Request-Id": "req-1",
        "Lambda-Runtime-Deadline-Ms": String(Date.now() + 30_000),
        "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "Lambda-Runtime-Trace-Id": "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
      });
      return res.end(JSON.stringify(event));
    }
    posts.push({ url: req.url ?? "", headers: req.headers, trailers: req.trailers, body: Buffer.concat(chunks).toString() });
    res.writeHead(postStatus, { "Content-Type": "application/json" }).end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const child = spawn(path.join(here, "run.sh"), [client, handler], {
    env: { ...process.env, AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${(server.address() as AddressInfo).port}` },
    stdio: "ignore",
  });
  child.on("exit", (code) => done(`exit ${code}`));
  const timer = setTimeout(() => done("timeout"), 15_000);
  const how = await finished;
  clearTimeout(timer);
  child.kill("SIGKILL");
  server.closeAllConnections();
  server.close();
  return { how, posts };
}

const only = (posts: Post[]): Post => {
  assert.equal(posts.length, 1, `expected one POST, got ${posts.map((p) => p.url).join(", ")}`);
  return posts[0]!;
};
const TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const httpEvent = { headers: { TraceParent: TRACEPARENT, tracestate: "k=v" } };

for (const client of ["node", "go", "python"] as const) {
  test(`${client}: success posts /response with the result`, { skip: skip(client) }, async () => {
    const { how, posts } = await invoke(client, "echo", { a: 1 });
    assert.equal(how, "next");
    const p = only(posts);
    assert.equal(p.url, "/2018-06-01/runtime/invocation/req-1/response");
    assert.deepEqual(JSON.parse(p.body), { a: 1 });
    if (client === "go") {
      // Every aws-lambda-go POST is chunked and announces both trailers, which stay empty.
      assert.equal(p.headers["transfer-encoding"], "chunked");
      assert.equal(p.headers["content-length"], undefined);
      assert.equal(p.headers["trailer"], "Lambda-Runtime-Function-Error-Body,Lambda-Runtime-Function-Error-Type");
      assert.deepEqual(p.trailers, {});
    } else {
      assert.equal(p.headers["content-length"], String(Buffer.byteLength(p.body)));
      assert.equal(p.headers["transfer-encoding"], undefined);
    }
  });

  test(`${client}: http handler sees the traceparent of the event`, { skip: skip(client) }, async () => {
    const p = only((await invoke(client, "http", httpEvent)).posts);
    const result = JSON.parse(p.body);
    assert.equal(result.statusCode, 200);
    assert.equal(JSON.parse(result.body).traceparent, TRACEPARENT);
    assert.equal(JSON.parse(result.body).xAmznTraceIdEnv, "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1");
  });

  test(`${client}: a function error posts /error without an Error-Type header`, { skip: skip(client) }, async () => {
    const { how, posts } = await invoke(client, "fail");
    assert.equal(how, "next");
    const p = only(posts);
    assert.equal(p.url, "/2018-06-01/runtime/invocation/req-1/error");
    assert.equal(p.headers["lambda-runtime-function-error-type"], undefined);
    assert.ok(p.headers["lambda-runtime-function-xray-error-cause"]);
    const body = JSON.parse(p.body);
    assert.equal(body.errorType, "OrderError");
    assert.match(body.errorMessage, /could not be placed/);
    if (client === "node") assert.ok(Array.isArray(body.trace) && !("stackTrace" in body));
    if (client === "python") assert.ok(typeof body.stackTrace[0] === "string" && "requestId" in body);
    if (client === "go") assert.ok(!("stackTrace" in body) && p.headers["transfer-encoding"] === "chunked");
  });

  test(`${client}: a crash posts nothing`, { skip: skip(client) }, async () => {
    const { how, posts } = await invoke(client, "crash");
    assert.equal(how, "exit 1");
    assert.equal(posts.length, 0);
  });

  test(`${client}: a 413 answer to /response`, { skip: skip(client) }, async () => {
    const { how, posts } = await invoke(client, "big", { bytes: 100 }, 413);
    assert.equal(Buffer.byteLength(only(posts).body), 100);
    // aws-lambda-ric logs it and polls /next again; aws-lambda-go and awslambdaric exit.
    assert.equal(how, client === "node" ? "next" : "exit 1");
  });
}

test("node: a thrown string", { skip: skip("node") }, async () => {
  const body = JSON.parse(only((await invoke("node", "throwString")).posts).body);
  assert.deepEqual(body, { errorType: "string", errorMessage: "a plain string was thrown", trace: [] });
});

test("node: response streaming", { skip: skip("node") }, async () => {
  const p = only((await invoke("node", "stream", { pauseMs: 20 })).posts);
  assert.equal(p.url, "/2018-06-01/runtime/invocation/req-1/response");
  assert.equal(p.headers["lambda-runtime-function-response-mode"], "streaming");
  assert.equal(p.headers["transfer-encoding"], "chunked");
  assert.equal(p.headers["content-type"], "text/plain");
  assert.equal(p.headers["trailer"], "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body");
  assert.equal(p.body, [1, 2, 3, 4, 5].map((i) => `chunk ${i}/5\n`).join(""));
  assert.deepEqual(p.trailers, {});
});

test("node: a streaming error goes in the trailers of /response", { skip: skip("node") }, async () => {
  const p = only((await invoke("node", "stream", { chunks: 2, pauseMs: 20, failAfter: true })).posts);
  assert.equal(p.url, "/2018-06-01/runtime/invocation/req-1/response");
  assert.equal(p.body, "chunk 1/2\nchunk 2/2\n");
  assert.equal(p.trailers["lambda-runtime-function-error-type"], "OrderError");
  const err = JSON.parse(Buffer.from(p.trailers["lambda-runtime-function-error-body"] ?? "", "base64").toString());
  assert.equal(err.errorType, "OrderError");
});

test("node: an init error posts /runtime/init/error with the Error-Type header", { skip: skip("node") }, async () => {
  const { how, posts } = await invoke("node", "nope");
  assert.equal(how, "exit 1");
  const p = only(posts);
  assert.equal(p.url, "/2018-06-01/runtime/init/error");
  assert.equal(p.headers["lambda-runtime-function-error-type"], "Runtime.HandlerNotFound");
});

test("go: a reader failing mid-body puts the error in the trailers of /response", { skip: skip("go") }, async () => {
  const p = only((await invoke("go", "streamFail", { chunks: 2, pauseMs: 10 })).posts);
  assert.equal(p.url, "/2018-06-01/runtime/invocation/req-1/response");
  assert.equal(p.body, "chunk 1/2\nchunk 2/2\n");
  assert.equal(p.trailers["lambda-runtime-function-error-type"], "OrderError");
  const err = JSON.parse(Buffer.from(p.trailers["lambda-runtime-function-error-body"] ?? "", "base64").toString());
  assert.deepEqual(err, { errorMessage: "order stream could not be placed", errorType: "OrderError" });
});

test("go: a panic posts /error with a stack, then the process exits", { skip: skip("go") }, async () => {
  const { how, posts } = await invoke("go", "panic");
  assert.equal(how, "exit 1");
  const body = JSON.parse(only(posts).body);
  assert.equal(body.errorType, "string");
  assert.ok(Array.isArray(body.stackTrace) && typeof body.stackTrace[0].label === "string");
});
