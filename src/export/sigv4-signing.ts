// OTLP/HTTP export signed with AWS SigV4, for X-Ray's OTLP endpoint without a
// collector. Loaded (dynamic import from span-export.ts) only when
// parseSigV4Settings asks for signing.
//
// The stock exporter cannot sign: its headers factory never sees the body, and
// SigV4 signs the payload's SHA-256. So this is the stock exporter's own
// pipeline (export delegate: bounded queue, timeout, result mapping; the same
// configuration, built from our settings by span-export.ts; the same
// serializers) with our one-attempt transport (otlp-http-transport.ts), which
// compresses, hands the bytes to the signer below, then posts.
//
// The signing is aws4's (checked against AWS's SigV4 test suite in
// test/layer/sigv4-signing.test.ts), not the AWS SDK's @smithy/signature-v4:
// with our esbuild settings (package "main" before "module") smithy's CommonJS
// build drags in most of @smithy/core, 150 KB of bundle whose compile cost
// 11 ms on every cold start with tracing on, signing or not; aws4 is 8 KB.

import aws4 from 'aws4';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { createHttpTraceExporter, type HttpConfiguration } from './otlp-http-transport.ts';
import type { AwsCredentials, SigV4Settings } from '../settings/sigv4-settings.ts';

/** aws4 also reads this option, which its type declarations lack. */
interface Aws4Request extends aws4.Request {
  readonly extraHeadersToIgnore: Readonly<Record<string, boolean>>;
}

export interface RequestToSign {
  readonly method: string;
  readonly url: URL;
  /** Lower-case names. A given x-amz-date fixes the signing time (AWS's test suite does). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer;
}

/**
 * The headers to send: the given ones plus host, x-amz-date, x-amz-security-token
 * (with a session token) and authorization, for `service` in `region`.
 */
export function signRequest(request: RequestToSign, region: string, service: string, credentials: AwsCredentials): Record<string, string> {
  const toSign: Aws4Request = {
    method: request.method,
    host: request.url.host,
    // As sent on the wire (percent-encoded once); aws4 encodes it again, as SigV4 wants for every service but S3.
    path: request.url.pathname + request.url.search,
    headers: { ...request.headers, host: request.url.host },
    body: request.body ?? '',
    service,
    region,
    // Content-Length stays out of the signature, as in AWS's test suite: the payload hash covers the body.
    extraHeadersToIgnore: { 'content-length': true },
  };
  const signed = aws4.sign(toSign, credentials);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return headers;
}

/**
 * An OTLP trace exporter whose every request is signed for `settings.service`,
 * over the bytes sent (after compression). Each attempt is a new request,
 * signed anew (a fresh X-Amz-Date): the export queue retries, not the transport.
 */
export function createSigV4Exporter(config: HttpConfiguration, json: boolean, settings: SigV4Settings): SpanExporter {
  const { region, service, credentials } = settings;
  return createHttpTraceExporter(config, json, (url, headers, body) => {
    // A signature or date from a configured header would make the request unverifiable.
    for (const name of ['authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256']) delete headers[name];
    return signRequest({ method: 'POST', url, headers, body }, region, service, credentials);
  });
}
