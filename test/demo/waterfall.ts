// A terminal waterfall of received traces: one block per trace, one line per
// span, indented under its parent, with a bar placed on the trace's timeline.

import type { ReceivedMetric, ReceivedSpan } from '../support/otlp-receiver.ts';

const BAR_WIDTH = 32;
const COLOR = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string, text: string) => (COLOR ? `\x1b[${code}m${text}\x1b[0m` : text);

/** Attributes worth a glance in a waterfall, in this order. */
const KEY_ATTRIBUTES = [
  'faas.trigger', 'faas.coldstart', 'http.request.method', 'http.route', 'http.response.status_code',
  'messaging.system', 'messaging.batch.message_count', 'error.type', 'lambda_trace_proxy.parent_source',
  'lambda_trace_proxy.platform.status', 'lambda_trace_proxy.platform.response_latency_us',
  'lambda_trace_proxy.out_of_memory.evidence', 'lambda_trace_proxy.init.duration_us',
];

const ADDED_PREFIX = 'lambda_trace_proxy.added.';

export function renderWaterfall(spans: readonly ReceivedSpan[]): string {
  const byTrace = new Map<string, ReceivedSpan[]>();
  for (const s of spans) byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), s]);
  const blocks: string[] = [];
  for (const [traceId, traceSpans] of byTrace) {
    const start = traceSpans.reduce((m, s) => (s.startTimeUnixNano < m ? s.startTimeUnixNano : m), traceSpans[0]!.startTimeUnixNano);
    const end = traceSpans.reduce((m, s) => (s.endTimeUnixNano > m ? s.endTimeUnixNano : m), traceSpans[0]!.endTimeUnixNano);
    const total = Number(end - start) || 1;
    const ids = new Set(traceSpans.map((s) => s.spanId));
    const remoteParent = traceSpans.find((s) => s.parentSpanId && !ids.has(s.parentSpanId))?.parentSpanId;
    const lines = [paint('1', `trace ${traceId}`) + (remoteParent ? paint('2', `  (joined caller span ${remoteParent})`) : '')];
    const children = (parent: string | undefined) => traceSpans
      .filter((s) => (parent === undefined ? !s.parentSpanId || !ids.has(s.parentSpanId) : s.parentSpanId === parent))
      .sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1));
    const walk = (span: ReceivedSpan, depth: number) => {
      const from = Math.floor((Number(span.startTimeUnixNano - start) / total) * BAR_WIDTH);
      const width = Math.max(1, Math.round((Number(span.endTimeUnixNano - span.startTimeUnixNano) / total) * BAR_WIDTH));
      const bar = ' '.repeat(from) + '█'.repeat(Math.min(width, BAR_WIDTH - from)) ;
      const ms = (Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e6).toFixed(1).padStart(8);
      const status = span.status.code === 'ERROR' ? paint('31', 'ERROR') : paint('32', 'ok   ');
      const name = `${'  '.repeat(depth)}${span.name} [${span.kind}]`.padEnd(38);
      const attrs = KEY_ATTRIBUTES.filter((k) => span.attributes[k] !== undefined).map((k) => `${k}=${String(span.attributes[k])}`).join(' ');
      lines.push(`  ${name} ${paint(span.status.code === 'ERROR' ? '31' : '36', bar.padEnd(BAR_WIDTH))} ${ms} ms ${status} ${paint('2', attrs)}`);
      // What the extension itself added to this invocation (lambda_trace_proxy.added.*: next_us, result_us, …), shown in ms.
      const added = Object.keys(span.attributes).filter((k) => k.startsWith(ADDED_PREFIX) && k.endsWith('_us')).sort()
        .map((k) => `${k.slice(ADDED_PREFIX.length).replace(/_us$/, '')} ${(Number(span.attributes[k]) / 1000).toFixed(3)} ms`);
      if (added.length > 0) lines.push(`  ${'  '.repeat(depth + 1)}${paint('2', `↳ added by the extension: ${added.join(', ')}`)}`);
      for (const event of span.events) {
        lines.push(`  ${'  '.repeat(depth + 1)}${paint('33', `↳ ${event.name}: ${String(event.attributes['exception.type'] ?? '')} ${String(event.attributes['exception.message'] ?? '')}`)}`);
      }
      for (const child of children(span.spanId)) walk(child, depth + 1);
    };
    for (const root of children(undefined)) walk(root, 0);
    blocks.push(lines.join('\n'));
  }
  return blocks.join('\n\n');
}

/** The last value of each metric series (cumulative: the latest export holds the totals). */
export function renderMetrics(metrics: readonly ReceivedMetric[]): string {
  const latest = new Map<string, string>();
  for (const m of metrics) {
    for (const p of m.dataPoints) {
      const attrs = Object.entries(p.attributes).map(([k, v]) => `${k}=${String(v)}`).join(' ');
      const value = m.kind === 'histogram'
        ? `count ${p.count} sum ${formatValue(p.sum ?? 0, m.unit)}`
        : `${p.value}`;
      latest.set(`${m.name} ${attrs}`.trim(), `${`${m.name}${attrs ? ` {${attrs}}` : ''}`.padEnd(52)} ${value} ${paint('2', m.unit)}`);
    }
  }
  return [...latest.values()].map((line) => `  ${line}`).join('\n');
}

function formatValue(value: number, unit: string): string {
  if (unit === 'By') return `${(value / 1048576).toFixed(0)} MiB`;
  if (unit === 's') return `${(value * 1000).toFixed(1)} ms`;
  return String(value);
}
