// A bare node:http server on loopback: the benchmark's yardstick for the cost
// of Node itself (start-up to listening, idle memory). Port in argv[2].
'use strict';
require('node:http').createServer((req, res) => res.end()).listen(Number(process.argv[2]), '127.0.0.1');
