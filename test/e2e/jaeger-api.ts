// Jaeger v2's query API (/api/v3, OTLP JSON answers), as the e2e drivers read it. See README.md,
// "Jaeger's query API", for what each request answers.

export interface OtlpValue { stringValue?: string; boolValue?: boolean; intValue?: string; doubleValue?: number }
export interface OtlpAttribute { key: string; value: OtlpValue }
export interface OtlpEvent { name: string; timeUnixNano?: string; attributes?: OtlpAttribute[] }
export interface OtlpSpan {
  traceId: string; spanId: string; parentSpanId?: string; name: string; kind?: number;
  startTimeUnixNano: string; endTimeUnixNano: string;
  attributes?: OtlpAttribute[]; events?: OtlpEvent[]; status?: { code?: number; message?: string };
  /** Not OTLP: the attributes of the span's resource, copied here by spansOf. */
  resource?: OtlpAttribute[];
}
interface OtlpTraces {
  resourceSpans?: { resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

/** OTLP span kinds and status codes as numbers, as Jaeger's v3 API writes them. */
export const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;
export const STATUS_CODE = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export function spansOf(t: OtlpTraces): OtlpSpan[] {
  return (t.resourceSpans ?? []).flatMap((rs) =>
    (rs.scopeSpans ?? []).flatMap((ss) => (ss.spans ?? []).map((s) => ({ ...s, resource: rs.resource?.attributes ?? [] }))));
}

export function attrOf(attributes: OtlpAttribute[] | undefined, key: string): string | boolean | number | undefined {
  const v = attributes?.find((a) => a.key === key)?.value;
  if (v === undefined) return undefined;
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.stringValue ?? v.boolValue ?? v.doubleValue;
}

export function attr(span: OtlpSpan, key: string): string | boolean | number | undefined {
  return attrOf(span.attributes, key);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Calls f every 200 ms until it gives a value; throws after `ms`. */
export async function poll<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(200);
  }
}

export class JaegerQuery {
  readonly #base: string;

  constructor(base: string) {
    this.#base = base;
  }

  /** GET /api/v3/traces/{id}: the trace's spans, or undefined while Jaeger has none (404). */
  async trace(traceId: string): Promise<OtlpSpan[] | undefined> {
    const r = await fetch(`${this.#base}/api/v3/traces/${traceId}`);
    const text = await r.text();
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new Error(`GET /api/v3/traces/${traceId}: HTTP ${r.status} ${text.slice(0, 300)}`);
    return spansOf((JSON.parse(text) as { result: OtlpTraces }).result);
  }

  /**
   * GET /api/v3/traces?query.service_name=…: every span of the service's traces that started in
   * the window. Both times are required, and num_traces must be > 0 (in-memory store).
   */
  async search(service: string, since: Date, until: Date = new Date(Date.now() + 60_000)): Promise<OtlpSpan[]> {
    const q = new URLSearchParams({
      'query.service_name': service,
      'query.start_time_min': since.toISOString(),
      'query.start_time_max': until.toISOString(),
      'query.num_traces': '1000',
    });
    const r = await fetch(`${this.#base}/api/v3/traces?${q}`);
    const text = await r.text();
    if (r.status === 404) return [];
    if (r.status !== 200) throw new Error(`search ${service}: HTTP ${r.status} ${text.slice(0, 300)}`);
    return spansOf((JSON.parse(text) as { result: OtlpTraces }).result);
  }
}
