// How a bundle loads another one beside it in the layer (tracing.cjs from extension.cjs, metrics.cjs
// from tracing.cjs): as require() would, without looking for a package.json above them.
//
// require() resolves every file through Node's self-reference check (trySelf in its CommonJS
// loader), which reads and parses the nearest package.json above the requiring file, so that a
// package may require itself by name. None of that applies to a file named by its path, yet in
// Lambda it reads /opt/package.json whenever another layer brings one: a malformed one made the
// require throw (ERR_INVALID_PACKAGE_CONFIG: tracing disabled), a valid one cost its parse
// (simdjson's pages of the Node binary, 0.13 MiB), and with none at all the search still ran in
// code of the Node binary nothing else an idle extension uses (std::filesystem's, 64 KiB of idle
// RSS; test/bench/idle-breakdown.ts, same run: 50.12/50.08 -> 50.04/50.03 MiB). Module._load with
// no parent, the call require() itself makes, skips the check. It is undocumented but as old as
// Node's module system (APM agents wrap it); where it is missing, require() as before.

import path from 'node:path';

interface ModuleLoader {
  _load?: unknown;
}

/** Loads `file` (`./name.cjs`), which sits beside the bundle whose module is `from`, once: later calls get the same exports. */
export function loadBundleBeside(from: NodeJS.Module, file: string): unknown {
  const filename = path.join(path.dirname(from.filename), file);
  const loader = from.constructor as ModuleLoader;
  if (typeof loader._load === 'function') return (loader._load as (request: string, parent: null, isMain: boolean) => unknown)(filename, null, false);
  return from.require(filename);
}
