// The layer as Lambda runs it: a copy outside the repository. Lambda unpacks a layer in /opt,
// with no package.json above it; dist/layer sits under the project's. When the bundle requires
// tracing.cjs, Node looks for the nearest package.json (to resolve a package's own name) and parses
// the one it finds: simdjson's pages of the Node binary, ~0.13 MiB of idle RSS that Lambda never
// pays (same run, idle-breakdown.ts: dist/layer 51.07 MiB, a copy in /tmp 50.93). So every figure
// the benchmark prints is of a staged copy.
//
// Files are hard links where the file system allows (a copy otherwise): the staged bin/node is
// then the very file dist/layer's is, so the page cache, which decides how many of the binary's
// pages a process maps around each one it reads, is the same as for the build itself.

import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface StagedLayer {
  readonly dir: string;
  /** extensions/lambda-trace-proxy: what Lambda starts (the Go launcher, then launcher.sh, then node). */
  readonly launcher: string;
  /** lambda-trace-proxy/bin/node, the layer's Node. */
  readonly node: string;
  /** lambda-trace-proxy/extension.cjs. */
  readonly bundle: string;
}

export interface StageOptions {
  /** Stage here (created, or emptied first) instead of a fresh directory under the system's temporary one. */
  readonly at?: string;
  /** A script launcher.sh makes node preload (`--require`): a probe reading the process as shipped. Copied in. */
  readonly preload?: string;
}

/** The paths of a layer's parts under `dir`. */
export function layerParts(dir: string): StagedLayer {
  return {
    dir,
    launcher: path.join(dir, 'extensions/lambda-trace-proxy'),
    node: path.join(dir, 'lambda-trace-proxy/bin/node'),
    bundle: path.join(dir, 'lambda-trace-proxy/extension.cjs'),
  };
}

/**
 * Copies the layer `from` (a directory laid out as /opt) outside any package.json, removed when
 * this process exits. Throws if the destination has a package.json above it: the copy would then
 * not be what Lambda runs.
 */
export function stageLayer(from: string, options: StageOptions = {}): StagedLayer {
  const source = path.resolve(from);
  readdirSync(source); // A clear error for a layer that was not built.
  let dir: string;
  if (options.at) {
    dir = path.resolve(options.at);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  } else {
    dir = mkdtempSync(path.join(tmpdir(), 'lambda-trace-proxy-layer-'));
  }
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const above = packageJsonAbove(dir);
  if (above) throw new Error(`cannot stage the layer in ${dir}: ${above} is above it, and Node would read it (in Lambda, /opt has none); pass another directory`);
  linkTree(source, dir);
  const parts = layerParts(dir);
  if (options.preload) addPreload(parts, options.preload);
  return parts;
}

/** The nearest package.json in `dir` or a directory above it, as Node looks for one. */
export function packageJsonAbove(dir: string): string | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const candidate = path.join(d, 'package.json');
    try {
      readFileSync(candidate);
      return candidate;
    } catch {
      // None here: the parent next.
    }
    if (path.dirname(d) === d) return undefined;
  }
}

function linkTree(from: string, to: string): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) {
      mkdirSync(dst);
      linkTree(src, dst);
    } else if (entry.isSymbolicLink()) {
      symlinkSync(readlinkSync(src), dst);
    } else {
      try {
        linkSync(src, dst);
      } catch {
        copyFileSync(src, dst); // Another file system: a copy (mode included).
      }
    }
  }
}

/** launcher.sh's exec of the shipped node gains `--require=<script>` (a Node option: V8's snapshot is still used). */
function addPreload(parts: StagedLayer, script: string): void {
  const launcherSh = path.join(parts.dir, 'lambda-trace-proxy/launcher.sh');
  const preload = path.join(parts.dir, 'lambda-trace-proxy', path.basename(script));
  copyFileSync(script, preload);
  const text = readFileSync(launcherSh, 'utf8');
  const exec = 'exec "$root/bin/node" "$bundle"';
  if (!text.includes(exec)) throw new Error(`${launcherSh} no longer has \`${exec}\`: cannot add the preload`);
  // A new file, not the hard link's: the build's launcher.sh stays as it is.
  unlinkSync(launcherSh);
  writeFileSync(launcherSh, text.replace(exec, `exec "$root/bin/node" --require="${preload}" "$bundle"`), { mode: 0o755 });
}
