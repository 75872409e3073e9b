// The smallest possible Node extension: register, then wait for events until
// SHUTDOWN. The benchmark's yardstick for start-up and memory. CommonJS like the
// shipped bundle, so both load the same way.
'use strict';
const http = require('node:http');

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const agent = new http.Agent({ keepAlive: true });

function call(method, path, headers, body, onBody) {
  const req = http.request({ host, port, method, path: `/2020-01-01/extension/${path}`, headers, agent }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => onBody(res, Buffer.concat(chunks)));
  });
  req.end(body);
}

function next(id) {
  call('GET', 'event/next', { 'Lambda-Extension-Identifier': id }, undefined, (res, body) => {
    if (JSON.parse(body).eventType === 'SHUTDOWN') process.exit(0);
    next(id);
  });
}

call('POST', 'register', { 'Lambda-Extension-Name': 'minimal-extension', 'Content-Type': 'application/json' },
  '{"events":["INVOKE","SHUTDOWN"]}', (res) => next(res.headers['lambda-extension-identifier']));
