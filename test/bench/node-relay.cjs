// A bare TCP relay written in Node (net + pipe, TCP_NODELAY): the benchmark's
// reference for what one hop costs on Node's own I/O, before any HTTP handling.
// Listens on 127.0.0.1:argv[2], relays to 127.0.0.1:argv[3].
'use strict';
const net = require('node:net');

const [listenPort, targetPort] = process.argv.slice(2).map(Number);
net.createServer({ noDelay: true }, (inbound) => {
  const outbound = net.connect({ port: targetPort, host: '127.0.0.1', noDelay: true });
  inbound.on('error', () => outbound.destroy());
  outbound.on('error', () => inbound.destroy());
  inbound.pipe(outbound).pipe(inbound);
}).listen(listenPort, '127.0.0.1');
