// Which parts of the Node binary a process holds resident (idle-breakdown.ts --binary): the present
// bits of its file-backed mappings of the binary (/proc/<pid>/pagemap; root only), by 64 KiB window
// of the file, each window named after what lies in it.
//
// Why 64 KiB windows: on a read fault in a file mapping the kernel maps the whole 64 KiB around the
// page (fault-around, and the page cache's large folios), so a few bytes read cost 16 pages of RSS
// and the window, not the page, is the unit of cost. What lies in a window comes from a copy of the
// same build that still has its symbols (the layer's is stripped): Node's built-in JS sources and
// their V8 code caches, found in .rodata (sources by their text, caches by V8's code-cache header,
// whose source hash is the source's length), else the symbols the window holds, grouped (V8's
// parser, compilers, GC; llhttp, c-ares, ada, simdjson, OpenSSL, ICU...). A window is named by
// what it holds, not by who read it: for who read it, record the page faults with their call chains
// (`perf record -e page-faults -c 1 -d -g`): a fault's address is the page that brought its window in.
//
// Built-in modules: each one compiled at run time (not in Node's start-up snapshot) costs the
// windows of its whole source, which V8 hashes for its compilation cache, and of its code cache.

import { execFileSync } from 'node:child_process';
import { openSync, readSync, closeSync, readFileSync } from 'node:fs';

const PAGE = 4096;
export const WINDOW = 64 * 1024;

interface Section { readonly name: string; readonly addr: number; readonly offset: number; readonly size: number }
interface Symbol { readonly addr: number; readonly size: number; readonly name: string }
interface Range { readonly start: number; readonly end: number; readonly module: string; readonly kind: 'source' | 'code cache' }

/** A binary's resident pages: file offsets of its main mappings; the embedded builtins V8 remaps elsewhere count apart. */
export interface ResidentPages { readonly offsets: Set<number>; readonly remapped: number }

/** The file offsets of `binary`'s pages that `pid` has present, from its maps and pagemap. */
export function residentPages(pid: number, binary: string): ResidentPages {
  const offsets = new Set<number>();
  let remapped = 0;
  const fd = openSync(`/proc/${pid}/pagemap`, 'r');
  try {
    for (const line of readFileSync(`/proc/${pid}/maps`, 'latin1').split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \S+\s+(.*)$/.exec(line);
      if (!m || m[4] !== binary) continue;
      const start = Number.parseInt(m[1]!, 16);
      const pages = (Number.parseInt(m[2]!, 16) - start) / PAGE;
      const offset = Number.parseInt(m[3]!, 16);
      const entries = Buffer.alloc(pages * 8);
      readSync(fd, entries, 0, entries.length, (start / PAGE) * 8);
      // V8 remaps its embedded builtins from the binary to an address near its code: a high one.
      const elsewhere = start > 2 ** 32;
      for (let i = 0; i < pages; i++) {
        if ((entries.readBigUInt64LE(i * 8) >> 63n) === 0n) continue;
        if (elsewhere) remapped++;
        else offsets.add(offset + i * PAGE);
      }
    }
  } finally {
    closeSync(fd);
  }
  return { offsets, remapped };
}

function sections(binary: string): Section[] {
  const out: Section[] = [];
  for (const line of execFileSync('readelf', ['-S', '-W', binary], { encoding: 'utf8', maxBuffer: 1 << 24 }).split('\n')) {
    const m = /\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(line);
    if (m && Number.parseInt(m[2]!, 16) > 0) out.push({ name: m[1]!, addr: Number.parseInt(m[2]!, 16), offset: Number.parseInt(m[3]!, 16), size: Number.parseInt(m[4]!, 16) });
  }
  return out;
}

function buildId(binary: string): string {
  return /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', binary], { encoding: 'utf8' }))?.[1] ?? '';
}

function symbols(binary: string): Symbol[] {
  const out: Symbol[] = [];
  const text = execFileSync('nm', ['-n', '-S', '-C', '--defined-only', binary], { encoding: 'utf8', maxBuffer: 1 << 28 });
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) \S (.*)$/.exec(line);
    if (!m) continue;
    const size = Number.parseInt(m[2]!, 16);
    if (size > 0) out.push({ addr: Number.parseInt(m[1]!, 16), size, name: m[3]! });
  }
  return out;
}

/** What a symbol is part of, for grouping: the first matching prefix. */
const SYMBOL_GROUPS: readonly (readonly [RegExp, string])[] = [
  [/^Builtins_/, 'V8 embedded builtins'],
  [/^v8::internal::maglev::/, 'V8 Maglev'],
  [/^v8::internal::compiler::/, 'V8 TurboFan/Turboshaft'],
  [/^v8::internal::baseline::/, 'V8 Sparkplug'],
  [/^v8::internal::(Deoptimizer|Translated|FrameTranslation)/, 'V8 deoptimizer'],
  [/^v8::internal::interpreter::/, 'V8 bytecode generator'],
  [/^(void |bool )?v8::internal::(Parser|ParserBase|PreParser|Scanner|Scope|AstValue|PerfectKeywordHash)/, 'V8 parser'],
  [/^(void |auto )?v8::internal::(MarkCompact|Scaveng|Sweep|Evacuat|MinorMark|ConcurrentMark|IncrementalMarking|Heap::|.*MarkingVisitor)/, 'V8 GC'],
  [/^v8::internal::(CodeSerializer|Deserializer|SerializedCodeData|Snapshot|ContextDeserializer)/, 'V8 snapshot, code cache'],
  [/^v8_inspector::/, 'V8 inspector'],
  [/^v8::/, 'V8 other'],
  [/^icu_\d+::|^u(bidi|case|char|cnv|data|hash|res|str|trie)_|_\d\d$/, 'ICU'],
  [/^llhttp/, 'llhttp'],
  [/^ares_|^node::cares_wrap::/, 'c-ares'],
  [/ada::/, 'ada (URL)'],
  [/simdjson::/, 'simdjson'],
  [/^nghttp2_|^node::http2::/, 'nghttp2'],
  [/^(Cr_z_|deflate|inflate|crc32|adler32|Brotli|node::zlib)/, 'zlib, brotli'],
  [/^(EVP_|SSL_|ssl_|ossl_|OSSL_|OPENSSL_|CRYPTO_|BN_|bn_|ASN1_|asn1_|X509|x509|ERR_|RAND_|EC_|ec_|OBJ_|BIO_|PEM_|RSA_|rsa_|DH_|dh_|tls_|dtls|DTLS|SRP_|ecp_nistz256|node::crypto::)/, 'OpenSSL, node::crypto'],
  [/^uv_|^uv__/, 'libuv'],
  [/^node::/, 'node C++'],
  [/^std::|^__gnu_cxx::|^(void |bool )?std::/, 'libstdc++ templates'],
];

function symbolGroup(name: string): string {
  for (const [re, group] of SYMBOL_GROUPS) if (re.test(name)) return group;
  return 'other symbols';
}

/** Node's built-in JS sources and code caches in the binary's .rodata (virtual addresses), from the live Node's own sources. */
function builtinRanges(node: string, binary: string, rodata: Section): Range[] {
  const natives = JSON.parse(execFileSync(node, ['--expose-internals', '--no-warnings', '-e',
    'process.stdout.write(JSON.stringify(require("internal/test/binding").internalBinding("builtins").natives))'],
  { encoding: 'utf8', maxBuffer: 1 << 26 })) as Record<string, string>;
  const bytes = Buffer.alloc(rodata.size);
  const fd = openSync(binary, 'r');
  try { readSync(fd, bytes, 0, rodata.size, rodata.offset); } finally { closeSync(fd); }
  const ranges: Range[] = [];
  const byLength = new Map<number, string[]>();
  for (const [id, source] of Object.entries(natives)) {
    byLength.set(source.length, [...byLength.get(source.length) ?? [], id]);
    // eslint-disable-next-line no-control-regex
    const oneByte = !/[^\u0000-\u00ff]/.test(source);
    const width = oneByte ? 1 : 2;
    // The tail: the heads of the public modules are one licence text.
    const tailAt = Math.max(0, source.length - 600);
    const at = bytes.indexOf(Buffer.from(source.slice(tailAt), oneByte ? 'latin1' : 'utf16le'));
    if (at < 0) continue;
    const start = rodata.addr + at - tailAt * width;
    ranges.push({ start, end: start + source.length * width, module: id, kind: 'source' });
  }
  // V8's code-cache header: magic 0xC0DE0000 ^ external references, version hash, source hash
  // (the length, top bit set for modules), flag hash, ... Caches follow one another.
  const heads: { at: number; sourceHash: number }[] = [];
  const versions = new Map<number, number>();
  for (let at = 0; at + 16 <= bytes.length; at += 4) {
    if (bytes.readUInt32LE(at) >>> 16 !== 0xc0de) continue;
    const version = bytes.readUInt32LE(at + 4);
    versions.set(version, (versions.get(version) ?? 0) + 1);
    heads.push({ at, sourceHash: bytes.readUInt32LE(at + 8) });
  }
  const version = [...versions.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const caches = heads.filter((h) => bytes.readUInt32LE(h.at + 4) === version);
  for (const [i, head] of caches.entries()) {
    const ids = byLength.get(head.sourceHash & 0x7fffffff) ?? [];
    if (ids.length === 0) continue;
    const end = caches[i + 1]?.at ?? head.at + 64 * 1024;
    ranges.push({ start: rodata.addr + head.at, end: rodata.addr + end, module: ids.join(' or '), kind: 'code cache' });
  }
  return ranges.sort((a, b) => a.start - b.start);
}

/** Names 64 KiB windows of the binary (by file offset of the shipped, stripped copy). */
export class BinaryMap {
  readonly #shipped: Section[];
  readonly #unstripped: Section[];
  readonly #symbols: Symbol[];
  readonly #builtins: Range[];

  /** `node`: the shipped (stripped) binary, run once to read its built-in sources; `unstripped`: the same build with symbols. */
  constructor(node: string, unstripped: string) {
    const id = buildId(node);
    if (id === '' || id !== buildId(unstripped)) throw new Error(`${unstripped} is not the build of ${node} (build ids ${buildId(unstripped)} and ${id})`);
    this.#shipped = sections(node);
    this.#unstripped = sections(unstripped);
    this.#symbols = symbols(unstripped);
    const rodata = this.#unstripped.find((s) => s.name === '.rodata');
    this.#builtins = rodata ? builtinRanges(node, unstripped, rodata) : [];
  }

  /** The virtual address of a file offset of the shipped binary (its sections keep their addresses when stripped). */
  #address(offset: number): { addr: number; section: string } | undefined {
    const s = this.#shipped.find((x) => x.name !== '.bss' && x.name !== '.tbss' && offset >= x.offset && offset < x.offset + x.size);
    return s && { addr: s.addr + offset - s.offset, section: s.name };
  }

  /** What the window starting at `offset` holds: a cause group and the detail (modules or symbols). */
  name(offset: number): { group: string; detail: string } {
    // A window may start in the gap between two sections: name it by its first byte that is in one.
    let where: { addr: number; section: string } | undefined;
    let found = offset;
    for (; found < offset + WINDOW && !where; found += PAGE) where = this.#address(found);
    if (!where) return { group: 'ELF headers, gaps', detail: '' };
    const start = where.addr - (found - PAGE - offset);
    const end = start + WINDOW;
    const builtins = this.#builtins.filter((r) => r.start < end && r.end > start);
    if (builtins.length > 0) {
      const kind = builtins.some((r) => r.kind === 'source') ? 'source' : 'code cache';
      return { group: `built-in JS ${kind}`, detail: [...new Set(builtins.map((r) => r.module))].join(' ') };
    }
    const bytes = new Map<string, number>();
    const names = new Map<string, number>();
    let lo = 0, hi = this.#symbols.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (this.#symbols[mid]!.addr < start) lo = mid + 1; else hi = mid; }
    for (let i = Math.max(0, lo - 1); i < this.#symbols.length && this.#symbols[i]!.addr < end; i++) {
      const s = this.#symbols[i]!;
      const overlap = Math.min(s.addr + s.size, end) - Math.max(s.addr, start);
      if (overlap <= 0) continue;
      const g = symbolGroup(s.name);
      bytes.set(g, (bytes.get(g) ?? 0) + overlap);
      names.set(s.name, (names.get(s.name) ?? 0) + overlap);
    }
    const top = [...bytes.entries()].sort((a, b) => b[1] - a[1]);
    const section = where.section === '.text' ? '' : `${where.section} `;
    if (top.length === 0) return { group: `${section}(no symbol)`.trim(), detail: '' };
    const detail = [...names.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([n]) => n.slice(0, 70)).join('; ');
    return { group: `${section}${top[0]![0]}`, detail };
  }
}

/** Resident pages of `other` beyond `base`, by window: added and removed pages. */
export function windowDelta(base: ResidentPages, other: ResidentPages): Map<number, { added: number; removed: number }> {
  const out = new Map<number, { added: number; removed: number }>();
  const bump = (offset: number, key: 'added' | 'removed') => {
    const w = offset - (offset % WINDOW);
    const e = out.get(w) ?? { added: 0, removed: 0 };
    e[key]++;
    out.set(w, e);
  };
  for (const o of other.offsets) if (!base.offsets.has(o)) bump(o, 'added');
  for (const o of base.offsets) if (!other.offsets.has(o)) bump(o, 'removed');
  return out;
}

export const PAGE_SIZE = PAGE;
