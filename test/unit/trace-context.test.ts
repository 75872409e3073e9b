import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TraceFlags } from '@opentelemetry/api';
import {
  extractW3CContext,
  formatTraceparent,
  formatXrayHeader,
  parseTraceparent,
  parseTracestate,
  parseXrayHeader,
  rewriteXrayParent,
  xrayParentContext,
} from '../../src/context/trace-headers.ts';

const TRACE_ID = '5e1f0b9c2a7d4e38b61c0f9a3d2e7b45';
const SPAN_ID = 'a3f1c9e07b2d4856';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../fixtures/events/${name}`, import.meta.url), 'utf8'));
}

describe('W3C traceparent', () => {
  it('parses a valid traceparent into a remote, sampled span context', () => {
    assert.deepEqual(parseTraceparent(TRACEPARENT), {
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
  });

  it('keeps flags other than sampled (Level 2 random-id bit)', () => {
    assert.equal(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-03`)?.traceFlags, 3);
    assert.equal(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-00`)?.traceFlags, 0);
  });

  const invalid: Record<string, string> = {
    'uppercase hex': `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`,
    'version ff': `ff-${TRACE_ID}-${SPAN_ID}-01`,
    'an all-zero trace id': `00-${'0'.repeat(32)}-${SPAN_ID}-01`,
    'an all-zero parent id': `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
    'a short trace id': `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`,
    'a long parent id': `00-${TRACE_ID}-${SPAN_ID}0-01`,
    'version 00 with a fifth field': `${TRACEPARENT}-extra`,
    'non-hex flags': `00-${TRACE_ID}-${SPAN_ID}-0g`,
    'a missing field': `00-${TRACE_ID}-${SPAN_ID}`,
    'two comma-joined values': `${TRACEPARENT},${TRACEPARENT}`,
    'an empty string': '',
  };
  for (const [what, value] of Object.entries(invalid)) {
    it(`rejects a traceparent with ${what}`, () => {
      assert.equal(parseTraceparent(value), undefined);
    });
  }

  it('accepts a higher version with appended fields, reading the first four', () => {
    assert.deepEqual(parseTraceparent(`cc-${TRACE_ID}-${SPAN_ID}-01-future-fields`), {
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: 1,
      isRemote: true,
    });
  });

  it('formats a span context as a version-00 traceparent with two-digit flags', () => {
    assert.equal(formatTraceparent({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 }), TRACEPARENT);
    assert.equal(formatTraceparent({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 0 }), `00-${TRACE_ID}-${SPAN_ID}-00`);
  });
});

describe('W3C tracestate', () => {
  it('keeps the members in order', () => {
    assert.equal(parseTracestate('acme=7b2d4856a3f1c9e0,vendorx=q1w2e3r4')?.serialize(), 'acme=7b2d4856a3f1c9e0,vendorx=q1w2e3r4');
  });

  it('joins several header values into one list', () => {
    assert.equal(parseTracestate(['a=1', 'b=2'])?.serialize(), 'a=1,b=2');
  });

  it('drops invalid members and keeps the valid ones', () => {
    assert.equal(parseTracestate('UPPER=1,ok=2,novalue')?.serialize(), 'ok=2');
  });

  it('keeps at most 32 members', () => {
    const members = Array.from({ length: 33 }, (_, i) => `k${i}=v${i}`);
    const state = parseTracestate(members.join(','));
    assert.equal(state?.serialize().split(',').length, 32);
    assert.equal(state?.get('k0'), 'v0');
    assert.equal(state?.get('k32'), undefined);
  });

  it('gives nothing for an empty or wholly invalid tracestate', () => {
    assert.equal(parseTracestate(''), undefined);
    assert.equal(parseTracestate('NOPE'), undefined);
    assert.equal(parseTracestate(undefined), undefined);
  });

  it('joins traceparent and tracestate into one parent context', () => {
    const context = extractW3CContext(TRACEPARENT, 'acme=1');
    assert.equal(context?.traceId, TRACE_ID);
    assert.equal(context?.traceState?.serialize(), 'acme=1');
  });

  it('ignores tracestate when traceparent is invalid', () => {
    assert.equal(extractW3CContext(`ff-${TRACE_ID}-${SPAN_ID}-01`, 'acme=1'), undefined);
  });

  it('treats two traceparent header values as invalid', () => {
    assert.equal(extractW3CContext([TRACEPARENT, TRACEPARENT], 'acme=1'), undefined);
    assert.equal(extractW3CContext([TRACEPARENT], undefined)?.spanId, SPAN_ID);
  });
});

describe('X-Ray trace header', () => {
  it('maps Root and Parent to W3C ids as the OpenTelemetry X-Ray propagator does', () => {
    const header = 'Root=1-684ade5a-9c3e71b20d4f58a6e1b7c203;Parent=6f0d2a9b4e81c735;Sampled=1';
    assert.deepEqual(xrayParentContext(header), {
      traceId: '684ade5a9c3e71b20d4f58a6e1b7c203',
      spanId: '6f0d2a9b4e81c735',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
  });

  it('reads the same context from an SQS record AWSTraceHeader as from its traceparent', () => {
    const sqs = fixture('sqs.json') as {
      Records: { attributes: { AWSTraceHeader: string }; messageAttributes: { traceparent: { stringValue: string } } }[];
    };
    const record = sqs.Records[0];
    assert.ok(record);
    assert.deepEqual(xrayParentContext(record.attributes.AWSTraceHeader), parseTraceparent(record.messageAttributes.traceparent.stringValue));
  });

  it('has no remote parent when Parent is missing, but keeps the trace id', () => {
    const header = 'Root=1-684adf0f-2b8e5d1a7c4f903e6a1d2b4c';
    assert.equal(xrayParentContext(header), undefined);
    assert.deepEqual(parseXrayHeader(header), {
      traceId: '684adf0f2b8e5d1a7c4f903e6a1d2b4c',
      parentSpanId: undefined,
      sampled: undefined,
      fields: [{ key: 'Root', value: '1-684adf0f-2b8e5d1a7c4f903e6a1d2b4c' }],
    });
  });

  it('leaves the sampling decision open for Sampled=? and for a missing Sampled', () => {
    for (const header of [
      'Root=1-684adf50-8e2c4a6b0d1f3e5a7c9b1d3f;Parent=4c6e8a0b2d4f6a81;Sampled=?',
      'Root=1-684adf50-8e2c4a6b0d1f3e5a7c9b1d3f;Parent=4c6e8a0b2d4f6a81',
    ]) {
      assert.equal(parseXrayHeader(header)?.sampled, undefined, header);
      assert.equal(xrayParentContext(header)?.traceFlags, TraceFlags.NONE, header);
      assert.equal(xrayParentContext(header)?.spanId, '4c6e8a0b2d4f6a81', header);
    }
  });

  it('reads Sampled=0 as not sampled', () => {
    const header = 'Root=1-684adf3a-b1d3f5a7c9e0f2a4b6c8d0e2;Parent=9a7c5e3b1d0f8e6c;Sampled=0';
    assert.equal(parseXrayHeader(header)?.sampled, false);
    assert.equal(xrayParentContext(header)?.traceFlags, TraceFlags.NONE);
  });

  it('keeps unknown fields in header order', () => {
    const header = 'Self=1-684adf50-1111111111111111aaaaaaaa;Root=1-684adf50-8e2c4a6b0d1f3e5a7c9b1d3f;Parent=4c6e8a0b2d4f6a81;Sampled=1;Lineage=a87bd80c:1|68fd508a:5';
    assert.deepEqual(parseXrayHeader(header)?.fields.map((f) => f.key), ['Self', 'Root', 'Parent', 'Sampled', 'Lineage']);
  });

  it('tolerates spaces around fields and normalises hex to lower case', () => {
    const context = xrayParentContext(' Root=1-684ADF50-8E2C4A6B0D1F3E5A7C9B1D3F ; Parent=4C6E8A0B2D4F6A81 ; Sampled=1 ');
    assert.equal(context?.traceId, '684adf508e2c4a6b0d1f3e5a7c9b1d3f');
    assert.equal(context?.spanId, '4c6e8a0b2d4f6a81');
  });

  const invalidRoots: Record<string, string> = {
    'version 2': 'Root=2-684adf50-8e2c4a6b0d1f3e5a7c9b1d3f;Parent=4c6e8a0b2d4f6a81;Sampled=1',
    'a short random part': 'Root=1-684adf50-8e2c4a6b0d1f3e5a7c9b1d3;Parent=4c6e8a0b2d4f6a81;Sampled=1',
    'non-hex digits': 'Root=1-684adf5g-8e2c4a6b0d1f3e5a7c9b1d3f;Parent=4c6e8a0b2d4f6a81;Sampled=1',
    'all zeros': `Root=1-00000000-${'0'.repeat(24)};Parent=4c6e8a0b2d4f6a81;Sampled=1`,
    'a key only starting with Root': 'RootX=1-684adf50-8e2c4a6b0d1f3e5a7c9b1d3f;Parent=4c6e8a0b2d4f6a81',
    'no Root at all': 'Parent=4c6e8a0b2d4f6a81;Sampled=1',
  };
  for (const [what, header] of Object.entries(invalidRoots)) {
    it(`rejects a header whose Root has ${what}`, () => {
      assert.equal(parseXrayHeader(header), undefined);
      assert.equal(xrayParentContext(header), undefined);
    });
  }

  it('has no remote parent when Parent is not 16 hex digits or all zeros', () => {
    assert.equal(xrayParentContext('Root=1-684adf50-8e2c4a6b0d1f3e5a7c9b1d3f;Parent=4c6e8a0b;Sampled=1'), undefined);
    assert.equal(xrayParentContext(`Root=1-684adf50-8e2c4a6b0d1f3e5a7c9b1d3f;Parent=${'0'.repeat(16)};Sampled=1`), undefined);
  });

  it('never throws on junk', () => {
    for (const junk of ['', ';;;', '=;=', 'Root', 'Root=', 'x'.repeat(100_000), '\u0000;Root=1-']) {
      assert.equal(parseXrayHeader(junk), undefined);
      assert.equal(rewriteXrayParent(junk, 'b7ad6b7169203331', true), undefined);
    }
    assert.equal(parseXrayHeader(undefined), undefined);
  });

  it('formats a span context as the X-Ray propagator writes it', () => {
    const header = formatXrayHeader({ traceId: '684adf508e2c4a6b0d1f3e5a7c9b1d3f', spanId: '4c6e8a0b2d4f6a81', traceFlags: 1 });
    assert.equal(header, 'Root=1-684adf50-8e2c4a6b0d1f3e5a7c9b1d3f;Parent=4c6e8a0b2d4f6a81;Sampled=1');
    assert.equal(formatXrayHeader({ traceId: '0'.repeat(32), spanId: '4c6e8a0b2d4f6a81', traceFlags: 1 }), undefined);
  });
});

describe('rewriting the X-Ray header for the function', () => {
  it('replaces Parent and Sampled in place and keeps Self, Root and Lineage in order', () => {
    const header =
      'Self=1-684adf50-1111111111111111aaaaaaaa;Root=1-684adf50-8e2c4a6b0d1f3e5a7c9b1d3f;Parent=4c6e8a0b2d4f6a81;Sampled=?;Lineage=a87bd80c:1|68fd508a:5';
    assert.equal(
      rewriteXrayParent(header, 'b7ad6b7169203331', true),
      'Self=1-684adf50-1111111111111111aaaaaaaa;Root=1-684adf50-8e2c4a6b0d1f3e5a7c9b1d3f;Parent=b7ad6b7169203331;Sampled=1;Lineage=a87bd80c:1|68fd508a:5',
    );
  });

  it('adds Parent after Root and Sampled after Parent when they are missing', () => {
    assert.equal(
      rewriteXrayParent('Root=1-684adf0f-2b8e5d1a7c4f903e6a1d2b4c;Lineage=x:1', 'b7ad6b7169203331', false),
      'Root=1-684adf0f-2b8e5d1a7c4f903e6a1d2b4c;Parent=b7ad6b7169203331;Sampled=0;Lineage=x:1',
    );
  });

  it('drops duplicate Parent fields after the first', () => {
    assert.equal(
      rewriteXrayParent('Root=1-684adf0f-2b8e5d1a7c4f903e6a1d2b4c;Parent=1111111111111111;Parent=2222222222222222;Sampled=1', 'b7ad6b7169203331', true),
      'Root=1-684adf0f-2b8e5d1a7c4f903e6a1d2b4c;Parent=b7ad6b7169203331;Sampled=1',
    );
  });

  it('refuses an invalid span id', () => {
    assert.equal(rewriteXrayParent('Root=1-684adf0f-2b8e5d1a7c4f903e6a1d2b4c', 'B7AD6B7169203331', true), undefined);
    assert.equal(rewriteXrayParent('Root=1-684adf0f-2b8e5d1a7c4f903e6a1d2b4c', '0'.repeat(16), true), undefined);
  });
});
