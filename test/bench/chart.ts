// The added-latency chart (test/bench/latency.svg), written as SVG text: added
// p50 per invocation cycle against payload size, both axes logarithmic (1 KB
// and 6 MB differ by three orders of magnitude), one line per variant, solid
// for the plain JSON event and dashed for the API Gateway one, with the targets
// marked where they apply.

import { PAYLOAD_SIZES, SHAPE_LABELS, type Shape } from './payloads.ts';
import { addedLatency, ms, type Results } from './report.ts';
import { median } from './stats.ts';
import { VARIANT_LABELS, type VariantName } from './variants.ts';

const WIDTH = 900;
const HEIGHT = 460;
const PLOT = { left: 90, right: 640, top: 50, bottom: 390 };
const SERIES: readonly { variant: VariantName; color: string }[] = [
  { variant: 'floor', color: '#7f7f7f' },
  { variant: 'node-relay', color: '#9467bd' },
  { variant: 'proxy-off', color: '#1f77b4' },
  { variant: 'proxy-on', color: '#d95f02' },
];
const DASH: Record<Shape, string> = { json: '', apigw: '6 4' };

export function renderChart(results: Results): string {
  const values = SERIES.flatMap(({ variant }) => (['json', 'apigw'] as const).flatMap((shape) =>
    PAYLOAD_SIZES.map((size) => addedLatency(results, size, shape, variant).p50))).filter((v) => v > 0);
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...values) * 1.6));
  const xMin = Math.log10(PAYLOAD_SIZES[0]!.bytes) - 0.4;
  const xMax = Math.log10(PAYLOAD_SIZES[PAYLOAD_SIZES.length - 1]!.bytes) + 0.25;
  const x = (bytes: number) => PLOT.left + (Math.log10(bytes) - xMin) / (xMax - xMin) * (PLOT.right - PLOT.left);
  const y = (msValue: number) => {
    const v = Math.log10(Math.max(msValue, yMin));
    return PLOT.bottom - (v - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin)) * (PLOT.bottom - PLOT.top);
  };

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  out.push(`<text x="${PLOT.left}" y="24" font-size="15" font-weight="bold">Added p50 latency per invocation cycle (next + response), vs direct</text>`);
  out.push(`<text x="${PLOT.left}" y="40" fill="#555">${esc(`${results.machine.cpu}, ${results.machine.cores} cores, Node ${results.machine.node}, ${results.date.toISOString().slice(0, 10)}; log–log`)}</text>`);

  // Grid: every 1, 2, 5 of each decade; labels on 1 and 5 (and 2 when the range is short).
  const decades = Math.log10(yMax / yMin);
  for (let d = yMin; d < yMax * 1.001; d *= 10) {
    for (const f of [1, 2, 5]) {
      const v = d * f;
      if (v > yMax * 1.001) break;
      const yy = y(v).toFixed(1);
      out.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${yy}" y2="${yy}" stroke="${f === 1 ? '#ccc' : '#eee'}"/>`);
      if (f === 1 || decades <= 3) out.push(`<text x="${PLOT.left - 6}" y="${yy}" dy="4" text-anchor="end" fill="#333">${trim(v)}</text>`);
    }
  }
  for (const size of PAYLOAD_SIZES) {
    const xx = x(size.bytes).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${PLOT.top}" y2="${PLOT.bottom}" stroke="#eee"/>`);
    out.push(`<text x="${xx}" y="${PLOT.bottom + 18}" text-anchor="middle" fill="#333">${size.label}</text>`);
  }
  out.push(`<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#999"/>`);
  out.push(`<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 38}" text-anchor="middle">payload size (event and response)</text>`);
  out.push(`<text transform="translate(18 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle">added latency, ms (p50)</text>`);

  // Targets for tracing on: 3× the floor at the smallest size, 2× at the largest.
  for (const [size, factor] of [[PAYLOAD_SIZES[0]!, 3], [PAYLOAD_SIZES[PAYLOAD_SIZES.length - 1]!, 2]] as const) {
    const limit = factor * addedLatency(results, size, 'json', 'floor').p50;
    if (!(limit > 0)) continue;
    const xx = x(size.bytes);
    const yy = y(limit).toFixed(1);
    out.push(`<line x1="${(xx - 14).toFixed(1)}" x2="${(xx + 14).toFixed(1)}" y1="${yy}" y2="${yy}" stroke="#2ca02c" stroke-width="3" opacity="0.8"><title>target: ${factor}× floor = ${ms(limit)} ms</title></line>`);
  }

  for (const { variant, color } of SERIES) {
    for (const shape of ['json', 'apigw'] as const) {
      const points = PAYLOAD_SIZES.map((size) => ({ size, v: addedLatency(results, size, shape, variant).p50 }));
      const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.size.bytes).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
      out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2" ${DASH[shape] ? `stroke-dasharray="${DASH[shape]}"` : ''}/>`);
      for (const p of points) {
        out.push(`<circle cx="${x(p.size.bytes).toFixed(1)}" cy="${y(p.v).toFixed(1)}" r="3.5" fill="${shape === 'json' ? color : '#fff'}" stroke="${color}" stroke-width="1.5"><title>${esc(`${VARIANT_LABELS[variant]}, ${SHAPE_LABELS[shape]}, ${p.size.label}: +${ms(p.v)} ms`)}</title></circle>`);
      }
    }
  }

  // Values of the plain JSON lines at both ends, nudged apart where lines run close.
  for (const [end, anchor, dx] of [[PAYLOAD_SIZES.length - 1, 'start', 8], [0, 'end', -8]] as const) {
    const size = PAYLOAD_SIZES[end]!;
    const labels = SERIES.map(({ variant, color }) => ({ v: addedLatency(results, size, 'json', variant).p50, color }))
      .map((l) => ({ ...l, y: y(l.v) }))
      .sort((a, b) => a.y - b.y);
    for (let i = 1; i < labels.length; i++) labels[i]!.y = Math.max(labels[i]!.y, labels[i - 1]!.y + 13);
    for (const l of labels) {
      out.push(`<text x="${(x(size.bytes) + dx).toFixed(1)}" y="${l.y.toFixed(1)}" dy="4" text-anchor="${anchor}" fill="${l.color}" font-size="11">${ms(l.v)}</text>`);
    }
  }

  // Legend, right of the plot.
  let ly = PLOT.top + 10;
  const lx = PLOT.right + 70;
  for (const { variant, color } of SERIES) {
    out.push(`<line x1="${lx}" x2="${lx + 26}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${lx + 32}" y="${ly}" dy="4">${esc(VARIANT_LABELS[variant])}</text>`);
    ly += 20;
  }
  ly += 8;
  for (const shape of ['json', 'apigw'] as const) {
    out.push(`<line x1="${lx}" x2="${lx + 26}" y1="${ly}" y2="${ly}" stroke="#333" stroke-width="2" ${DASH[shape] ? `stroke-dasharray="${DASH[shape]}"` : ''}/>`);
    out.push(`<circle cx="${lx + 13}" cy="${ly}" r="3.5" fill="${shape === 'json' ? '#333' : '#fff'}" stroke="#333" stroke-width="1.5"/>`);
    out.push(`<text x="${lx + 32}" y="${ly}" dy="4">${esc(`${SHAPE_LABELS[shape]} event`)}</text>`);
    ly += 20;
  }
  ly += 8;
  out.push(`<line x1="${lx}" x2="${lx + 26}" y1="${ly}" y2="${ly}" stroke="#2ca02c" stroke-width="3"/>`);
  out.push(`<text x="${lx + 32}" y="${ly}" dy="4">target for tracing on:</text>`);
  out.push(`<text x="${lx + 32}" y="${ly + 15}" dy="4">3× floor at ${PAYLOAD_SIZES[0]!.label},</text>`);
  out.push(`<text x="${lx + 32}" y="${ly + 30}" dy="4">2× floor at ${PAYLOAD_SIZES[PAYLOAD_SIZES.length - 1]!.label}</text>`);
  const notes = ['floor: a socat TCP relay,', 'the cost of one more hop;', 'labels: p50 of plain JSON'];
  notes.forEach((line, i) => out.push(`<text x="${lx}" y="${ly + 66 + i * 14}" fill="#555" font-size="11">${esc(line)}</text>`));
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function trim(v: number): string {
  return String(+v.toPrecision(3));
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The memory chart (test/bench/memory.svg): for each process, its idle RSS split into anonymous
 * and file-backed pages, and its peak RSS over the largest payload's run, on one linear MiB axis.
 */
export function renderMemoryChart(results: Results): string {
  const large = PAYLOAD_SIZES[PAYLOAD_SIZES.length - 1]!;
  const processes = [...new Set(results.memory.map((r) => r.process))];
  const rows = processes.map((process) => {
    const mine = results.memory.filter((r) => r.process === process);
    const at = mine.find((r) => r.size.label === large.label);
    const med = (f: (r: (typeof mine)[number]) => number) => median(mine.map(f));
    return { process, anon: med((r) => r.idleAnon), file: med((r) => r.idleFile), peak: at?.peakRss ?? NaN, peakAnon: at?.peakAnon ?? NaN };
  });
  const MiB = 1024 * 1024;
  const max = Math.max(...rows.map((r) => Math.max(r.peak, r.anon + r.file))) / MiB;
  const top = Math.ceil(max / 20) * 20;
  const left = 200;
  const right = 760;
  const rowHeight = 46;
  const height = 90 + rows.length * rowHeight + 40;
  const x = (mib: number) => left + (mib / top) * (right - left);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="24" font-size="15" font-weight="bold">Resident memory: idle (anonymous + file-backed) and peak over ${esc(large.label)} invocations</text>`);
  out.push(`<text x="${left}" y="40" fill="#555">${esc(`${results.machine.cpu}, ${results.machine.cores} cores, Node ${results.machine.node}, ${results.date.toISOString().slice(0, 10)}; MiB`)}</text>`);
  const axisY = 70 + rows.length * rowHeight;
  for (let v = 0; v <= top; v += 20) {
    out.push(`<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="56" y2="${axisY}" stroke="#eee"/>`);
    out.push(`<text x="${x(v).toFixed(1)}" y="${axisY + 16}" text-anchor="middle" fill="#333">${v}</text>`);
  }
  rows.forEach((r, i) => {
    const y = 64 + i * rowHeight;
    out.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end">${esc(VARIANT_LABELS[r.process as VariantName] ?? r.process)}</text>`);
    out.push(`<rect x="${left}" y="${y}" width="${(x(r.anon / MiB) - left).toFixed(1)}" height="16" fill="#d95f02"/>`);
    out.push(`<rect x="${x(r.anon / MiB).toFixed(1)}" y="${y}" width="${(x((r.anon + r.file) / MiB) - x(r.anon / MiB)).toFixed(1)}" height="16" fill="#fdd0a2"/>`);
    if (Number.isFinite(r.peak)) {
      out.push(`<rect x="${left}" y="${y + 19}" width="${(x(r.peak / MiB) - left).toFixed(1)}" height="10" fill="#7f7f7f"/>`);
      out.push(`<text x="${(x(r.peak / MiB) + 6).toFixed(1)}" y="${y + 28}" fill="#333" font-size="11">peak ${(r.peak / MiB).toFixed(1)} (anon ${(r.peakAnon / MiB).toFixed(1)})</text>`);
    }
    out.push(`<text x="${(x((r.anon + r.file) / MiB) + 6).toFixed(1)}" y="${y + 13}" fill="#333" font-size="11">idle ${((r.anon + r.file) / MiB).toFixed(1)}</text>`);
  });
  const ly = axisY + 30;
  out.push(`<rect x="${left}" y="${ly - 9}" width="12" height="10" fill="#d95f02"/><text x="${left + 16}" y="${ly}">idle anonymous</text>`);
  out.push(`<rect x="${left + 130}" y="${ly - 9}" width="12" height="10" fill="#fdd0a2"/><text x="${left + 146}" y="${ly}">idle file-backed</text>`);
  out.push(`<rect x="${left + 260}" y="${ly - 9}" width="12" height="10" fill="#7f7f7f"/><text x="${left + 276}" y="${ly}">peak RSS (VmHWM), ${esc(large.label)} run</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
