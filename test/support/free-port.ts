// A loopback port nobody listens on right now, for processes that need a fixed
// port in their environment (the proxy's LRAP_LISTENER_PORT, which the wrapper
// reads too). Bind to 0, read the port, release it: a small race, harmless here.

import net from 'node:net';

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
