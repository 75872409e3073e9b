// The smallest HTTP proxy written with node:http (a server, and requests on a keep-alive agent,
// bodies piped): a reference for what Node's HTTP handling costs per request before anything the
// extension adds (routes, the lifecycle, tracing). Not a target: concurrency.ts's `http-relay`.
// Listens on 127.0.0.1:argv[2], forwards to 127.0.0.1:argv[3].
'use strict';
const http = require('node:http');

const [listenPort, targetPort] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
http.createServer({ noDelay: true, keepAliveTimeout: 0, requestTimeout: 0, headersTimeout: 0 }, (req, res) => {
  const upstream = http.request({
    host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.rawHeaders, setHost: false, agent,
  }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
    answer.pipe(res);
  });
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
}).listen(listenPort, '127.0.0.1');
