// How one environment value is read, by the OpenTelemetry configuration rules
// (opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables and
// common): an empty (or blank) value is the same as unset; enum values are
// case-insensitive; a boolean is true only for a case-insensitive `true`;
// numbers, durations and timeouts are whole milliseconds, and a value out of
// range is ignored as if unset, with a warning. Ours (LRAP_*) follow the same rules.
//
// A bad value is never silent: each is reported once, with the variable's name,
// its value (masked when it may hold a secret) and what was used instead.

import type { Logger } from '../log.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export type SettingProblemCode =
  /** A tracing setting (OTEL_* or LRAP_*) is invalid: the message says what was used instead. */
  | 'LRAP_TRACING_CONFIG_INVALID'
  /** A Telemetry API or metrics setting is invalid: that part keeps its default, or is off. */
  | 'LRAP_TELEMETRY_CONFIG_INVALID'
  /** LRAP_LOG_LEVEL or OTEL_LOG_LEVEL is invalid: the next one, else `warn`, is used. */
  | 'LRAP_LOG_LEVEL_INVALID'
  /** An OpenTelemetry variable this extension does not read is set: it has no effect. */
  | 'LRAP_SETTING_IGNORED';

export interface SettingProblem {
  readonly code: SettingProblemCode;
  readonly variable: string;
  /** As given, or masked when it may hold a credential. */
  readonly value: string;
  /** What is wrong, and what would be valid. */
  readonly problem: string;
  /** What the extension uses instead. */
  readonly used: string;
}

/**
 * What was used instead of a bad value. A function when that is only known
 * once the other variables are read (a signal-specific variable and its
 * general form): it is asked when the problems are listed.
 */
export type UsedInstead = string | (() => string);

/** Collects the problems found while parsing, to be logged once the logger exists. */
export class SettingProblems {
  readonly #code: SettingProblemCode;
  readonly #list: (Omit<SettingProblem, 'used'> & { readonly used: UsedInstead })[] = [];

  constructor(code: SettingProblemCode) {
    this.#code = code;
  }

  get list(): readonly SettingProblem[] {
    return this.#list.map((p) => ({ ...p, used: typeof p.used === 'string' ? p.used : p.used() }));
  }

  add(variable: string, raw: string, problem: string, used: UsedInstead): void {
    this.#list.push({ code: this.#code, variable, value: shownValue(variable, raw), problem, used });
  }

  /** A variable that is set but not read by this extension. */
  ignored(variable: string, raw: string, why: string): void {
    this.#list.push({ code: 'LRAP_SETTING_IGNORED', variable, value: shownValue(variable, raw), problem: why, used: 'nothing: it has no effect' });
  }
}

export function logSettingProblems(log: Logger, problems: readonly SettingProblem[]): void {
  for (const p of problems) {
    log.warn(`${p.variable}=${JSON.stringify(p.value)}: ${p.problem}; using ${p.used}.`, {
      code: p.code, variable: p.variable, value: p.value, used: p.used,
    });
  }
}

/** The trimmed value, or undefined when unset, empty or blank (the spec: empty is unset). */
export function envText(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

// ---- masking --------------------------------------------------------------------

/** Names whose values may be credentials: never logged. */
const SECRET_NAME = /HEADERS|KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL|AUTH/;

/**
 * What a log line may show of a value: nothing but its length for a
 * credential-like variable; a URL without user info, query or fragment (they
 * may carry a token); anything else as given.
 */
export function shownValue(variable: string, raw: string): string {
  if (SECRET_NAME.test(variable)) return `<${raw.length} characters, masked>`;
  return maskUrlCredentials(raw);
}

function maskUrlCredentials(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    // Not a URL: still drop anything that looks like user info before a host.
    return raw.replace(/\/\/[^/@\s]*@/, '//***@');
  }
  if (url.username === '' && url.password === '' && url.search === '' && url.hash === '') return raw;
  const masked = `${url.protocol}//${url.username || url.password ? '***@' : ''}${url.host}${url.pathname}`;
  return url.search || url.hash ? `${masked}?***` : masked;
}

// ---- typed readers ---------------------------------------------------------------

/** A case-insensitive enum value, as the lower-case member of `allowed`, or undefined when unset or unknown (reported). */
export function readEnum<T extends string>(env: Env, name: string, allowed: readonly T[], problems: SettingProblems, used: UsedInstead): T | undefined {
  const text = envText(env, name);
  if (text === undefined) return undefined;
  const lower = text.toLowerCase();
  const found = allowed.find((a) => a === lower);
  if (found === undefined) problems.add(name, text, `not one of ${allowed.join(', ')}`, used);
  return found;
}

/**
 * The spec's boolean: true only for `true`, false for `false` (any case);
 * anything else (`1`, `yes`) is reported and gives `fallback`.
 */
export function readBoolean(env: Env, name: string, problems: SettingProblems, fallback: boolean): boolean {
  return readOptionalBoolean(env, name, problems, String(fallback)) ?? fallback;
}

/** As readBoolean, undefined when unset or invalid (reported, `used` says what then applies). */
export function readOptionalBoolean(env: Env, name: string, problems: SettingProblems, used: UsedInstead): boolean | undefined {
  const text = envText(env, name);
  if (text === undefined) return undefined;
  const lower = text.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  problems.add(name, text, 'must be true or false (OpenTelemetry booleans: 1, 0, yes and no are not accepted)', used);
  return undefined;
}

export interface WholeNumberRule {
  readonly min: number;
  /** The spec's integers reach 2^31 - 1. */
  readonly max?: number;
  /** Timeouts: the spec says 0 means no limit. */
  readonly zeroMeansNoLimit?: boolean;
}

/** setTimeout's ceiling (about 24.8 days), used for "no limit". */
export const NO_LIMIT_MS = 0x7fffffff;

/** A whole number (no sign, no unit, no decimals) within the rule, or undefined when unset or invalid (reported). */
export function readWholeNumber(env: Env, name: string, rule: WholeNumberRule, problems: SettingProblems, used: UsedInstead): number | undefined {
  const text = envText(env, name);
  if (text === undefined) return undefined;
  const max = rule.max ?? NO_LIMIT_MS;
  const n = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (n === 0 && rule.zeroMeansNoLimit) return NO_LIMIT_MS;
  if (!(n >= rule.min && n <= max)) {
    const range = rule.zeroMeansNoLimit ? `a whole number of milliseconds from 1 to ${max}, or 0 for no limit` : `a whole number from ${rule.min} to ${max}`;
    problems.add(name, text, `must be ${range}`, used);
    return undefined;
  }
  return n;
}

/** A comma-separated list: entries trimmed and lower-cased, empty ones dropped, duplicates kept once. */
export function readList(env: Env, name: string): string[] | undefined {
  const text = envText(env, name);
  if (text === undefined) return undefined;
  return [...new Set(text.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean))];
}

export type KeyValueList = { readonly ok: true; readonly entries: ReadonlyMap<string, string> } | { readonly ok: false; readonly why: string };

/**
 * `key1=value1,key2=value2`, the W3C baggage-like form of OTEL_RESOURCE_ATTRIBUTES
 * and OTEL_EXPORTER_OTLP_HEADERS: keys and values trimmed and percent-decoded,
 * so `,` and `=` can be written `%2C` and `%3D`. Any bad entry rejects the whole
 * value, as the spec says for resource attributes. `why` never quotes the value
 * (it may hold a credential): it says which entry is wrong.
 */
export function parseKeyValueList(text: string): KeyValueList {
  const entries = new Map<string, string>();
  const parts = text.split(',');
  for (const [i, part] of parts.entries()) {
    if (part.trim() === '') continue;
    const where = `entry ${i + 1} of ${parts.length}`;
    const eq = part.indexOf('=');
    if (eq < 0) return { ok: false, why: `${where} is not key=value` };
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(part.slice(0, eq).trim());
      value = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return { ok: false, why: `${where} has a bad percent-escape` };
    }
    if (key === '') return { ok: false, why: `${where} has an empty key` };
    entries.set(key, value);
  }
  return { ok: true, entries };
}
