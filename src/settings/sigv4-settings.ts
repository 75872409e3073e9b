// Whether OTLP exports are signed with SigV4, and with what: decided from the
// settings alone, cheaply, so that the signing code (sigv4-signing.ts and
// its libraries) is loaded only when it is used.
//
// X-Ray's OTLP endpoint (https://xray.<region>.amazonaws.com/v1/traces) takes
// only SigV4-signed requests (service `xray`) or an X-Ray API key; a function
// signs with its own execution role, whose credentials Lambda puts in the
// environment of the runtime and of every extension.

import { envText, readOptionalBoolean, type Env, type SettingProblems } from './env-values.ts';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface SigV4Settings {
  readonly service: 'xray';
  /** The endpoint's region (xray.<region>.amazonaws.com), else the function's. */
  readonly region: string;
  readonly credentials: AwsCredentials;
}

export type SigV4Decision =
  | { readonly sign: false }
  | { readonly sign: true; readonly settings: SigV4Settings }
  /** Signing is wanted but cannot be done: exporting unsigned would only be refused, so tracing is off. */
  | { readonly sign: 'impossible' };

// xray.us-east-1.amazonaws.com, xray-fips.us-gov-west-1.amazonaws.com,
// xray.cn-north-1.amazonaws.com.cn, vpce-0abc-1de2.xray.eu-west-1.vpce.amazonaws.com
const XRAY_HOST = /^(?:[a-z0-9-]+\.)?xray(?:-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/;

/** The region in an X-Ray endpoint's host name, or undefined when the endpoint is not X-Ray's. */
export function xrayEndpointRegion(endpoint: string): string | undefined {
  let host: string;
  try {
    const url = new URL(endpoint);
    if (url.protocol !== 'https:') return undefined;
    host = url.hostname.toLowerCase();
  } catch {
    return undefined;
  }
  return XRAY_HOST.exec(host)?.[1];
}

const TRACING_OFF = 'no tracing (the proxy forwards only)';

/**
 * `LRAP_XRAY_SIGV4` = true signs whatever the endpoint (a VPC endpoint under a
 * private DNS name, a proxy), false never signs (X-Ray API key in
 * OTEL_EXPORTER_OTLP_HEADERS instead); unset (or invalid) signs for X-Ray's own endpoints.
 */
export function parseSigV4Settings(env: Env, tracesUrl: string, functionRegion: string | undefined, problems: SettingProblems): SigV4Decision {
  const endpointRegion = xrayEndpointRegion(tracesUrl);
  const auto = endpointRegion !== undefined;
  const wanted = readOptionalBoolean(env, 'LRAP_XRAY_SIGV4', problems,
    `the default: ${auto ? 'signed, since the endpoint is X-Ray\'s' : 'unsigned, since the endpoint is not X-Ray\'s'}`) ?? auto;
  if (!wanted) return { sign: false };

  const why = envText(env, 'LRAP_XRAY_SIGV4') === undefined ? 'the endpoint is X-Ray\'s, so exports are SigV4-signed' : 'LRAP_XRAY_SIGV4 asks for SigV4 signing';
  const region = endpointRegion ?? functionRegion;
  if (region === undefined) {
    problems.add('AWS_REGION', '', `${why}, which needs a region: AWS_REGION is not set and the endpoint names none (https://xray.<region>.amazonaws.com)`, TRACING_OFF);
    return { sign: 'impossible' };
  }
  const accessKeyId = envText(env, 'AWS_ACCESS_KEY_ID');
  const secretAccessKey = envText(env, 'AWS_SECRET_ACCESS_KEY');
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    problems.add(accessKeyId === undefined ? 'AWS_ACCESS_KEY_ID' : 'AWS_SECRET_ACCESS_KEY', '',
      `${why}, which needs the function's credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, which Lambda sets); set LRAP_XRAY_SIGV4=false to send unsigned (an X-Ray API key in OTEL_EXPORTER_OTLP_HEADERS)`,
      TRACING_OFF);
    return { sign: 'impossible' };
  }
  const sessionToken = envText(env, 'AWS_SESSION_TOKEN');
  const credentials = sessionToken === undefined ? { accessKeyId, secretAccessKey } : { accessKeyId, secretAccessKey, sessionToken };
  return { sign: true, settings: { service: 'xray', region, credentials } };
}
