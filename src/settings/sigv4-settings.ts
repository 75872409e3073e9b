// Whether OTLP exports are signed with SigV4, and with what: decided from the
// environment alone, cheaply, so that the signing code (sigv4-signing.ts and
// its libraries) is loaded only when it is used.
//
// X-Ray's OTLP endpoint (https://xray.<region>.amazonaws.com/v1/traces) takes
// only SigV4-signed requests (service `xray`) or an X-Ray API key; a function
// signs with its own execution role, whose credentials Lambda puts in the
// environment of the runtime and of every extension.

import { TracingConfigError, nonEmpty, parseOptionalBoolean } from './tracing-settings.ts';

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

type Env = Readonly<Record<string, string | undefined>>;

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

/**
 * Undefined when exports are not to be signed. `LRAP_XRAY_SIGV4` = true signs
 * whatever the endpoint (a VPC endpoint under a private DNS name, a proxy),
 * false never signs (X-Ray API key in OTEL_EXPORTER_OTLP_HEADERS instead);
 * unset signs for X-Ray's own endpoints.
 */
export function parseSigV4Settings(env: Env): SigV4Settings | undefined {
  const endpoint = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const endpointRegion = endpoint === undefined ? undefined : xrayEndpointRegion(endpoint);
  const wanted = parseOptionalBoolean(env.LRAP_XRAY_SIGV4, 'LRAP_XRAY_SIGV4') ?? endpointRegion !== undefined;
  if (!wanted) return undefined;

  const region = endpointRegion ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  if (region === undefined) {
    throw new TracingConfigError('SigV4 signing needs a region: AWS_REGION is not set and the endpoint names none (https://xray.<region>.amazonaws.com).');
  }
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    throw new TracingConfigError('SigV4 signing for X-Ray needs the function\'s credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), which Lambda sets; they are missing. Set LRAP_XRAY_SIGV4=false to send unsigned (an X-Ray API key in OTEL_EXPORTER_OTLP_HEADERS).');
  }
  const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
  return { service: 'xray', region, credentials: sessionToken === undefined ? { accessKeyId, secretAccessKey } : { accessKeyId, secretAccessKey, sessionToken } };
}
