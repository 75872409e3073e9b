// Compares two V8 heap snapshots (.heapsnapshot, as SOAK_DIAGNOSE writes them)
// by constructor: object counts and self sizes in each, sorted by growth. The
// snapshots are taken after a full collection, so what is counted is retained.
//
//   node test/soak/compare-snapshots.ts early.heapsnapshot late.heapsnapshot [rows]

import { readFileSync } from 'node:fs';

interface Snapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: readonly string[]; readonly node_types: readonly [readonly string[], ...unknown[]] } };
  readonly nodes: readonly number[];
  readonly strings: readonly string[];
}

export interface Group { count: number; bytes: number }

/** Nodes of a snapshot by constructor (objects, closures) or by type (strings, code...): how many, how many bytes. */
export function byConstructor(snapshotText: string): Map<string, Group> {
  const snap = JSON.parse(snapshotText) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const at = (name: string) => fields.indexOf(name);
  const [typeAt, nameAt, sizeAt] = [at('type'), at('name'), at('self_size')];
  const out = new Map<string, Group>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    // Strings and code are grouped by type: their names are their contents.
    const key = type === 'object' || type === 'closure' ? `${type} ${snap.strings[snap.nodes[i + nameAt]!]}` : `(${type})`;
    const g = out.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += snap.nodes[i + sizeAt]!;
    out.set(key, g);
  }
  return out;
}

if (import.meta.main) {
  const [early, late, rows = '40'] = process.argv.slice(2);
  if (early === undefined || late === undefined) throw new Error('usage: compare-snapshots.ts early.heapsnapshot late.heapsnapshot [rows]');
  const a = byConstructor(readFileSync(early, 'utf8'));
  const b = byConstructor(readFileSync(late, 'utf8'));
  const total = (m: Map<string, Group>) => [...m.values()].reduce((s, g) => ({ count: s.count + g.count, bytes: s.bytes + g.bytes }), { count: 0, bytes: 0 });
  const diff = [...new Set([...a.keys(), ...b.keys()])].map((key) => {
    const x = a.get(key) ?? { count: 0, bytes: 0 };
    const y = b.get(key) ?? { count: 0, bytes: 0 };
    return { key, before: x, after: y, dCount: y.count - x.count, dBytes: y.bytes - x.bytes };
  }).sort((p, q) => Math.abs(q.dBytes) - Math.abs(p.dBytes) || Math.abs(q.dCount) - Math.abs(p.dCount));
  const ta = total(a);
  const tb = total(b);
  console.log(`total: ${ta.count} → ${tb.count} objects, ${(ta.bytes / 1024).toFixed(0)} → ${(tb.bytes / 1024).toFixed(0)} KiB`);
  console.log('| constructor | count before | count after | Δ count | KiB before | KiB after | Δ KiB |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const d of diff.slice(0, Number(rows))) {
    console.log(`| ${d.key.slice(0, 60)} | ${d.before.count} | ${d.after.count} | ${d.dCount} | ${(d.before.bytes / 1024).toFixed(1)} | ${(d.after.bytes / 1024).toFixed(1)} | ${(d.dBytes / 1024).toFixed(1)} |`);
  }
}
