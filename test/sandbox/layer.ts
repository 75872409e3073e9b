import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Lambda starts at most 10 extensions (Extensions API guide, "Extensions API limits"). */
export const MAX_EXTENSIONS = 10;

export interface ExtensionExecutable {
  /** File name: what the extension must send as `Lambda-Extension-Name`. */
  readonly name: string;
  readonly path: string;
}

/**
 * The external extensions of a layer directory (Lambda's /opt): every
 * executable file in `extensions/`, in name order. A missing directory means
 * no extensions. Non-executable files are skipped (Lambda would try to launch
 * them and fail Init; see README).
 */
export function listExtensions(layerDir: string): ExtensionExecutable[] {
  const dir = join(layerDir, 'extensions');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const found: ExtensionExecutable[] = [];
  for (const name of names.sort()) {
    const path = join(dir, name);
    try {
      const stat = statSync(path);
      if (stat.isFile() && (stat.mode & 0o111) !== 0) found.push({ name, path });
    } catch {
      // dangling symlink: nothing to start
    }
  }
  return found;
}
