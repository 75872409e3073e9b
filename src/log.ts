// One JSON object per line on stderr, which Lambda sends to CloudWatch Logs.
// Quiet by default (warn). Never log payloads, bodies, credentials or env values:
// callers pass codes, ids and sizes only.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'none';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, none: 99 };

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  readonly level: LogLevel;
  enabled(level: Exclude<LogLevel, 'none'>): boolean;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const threshold = RANK[level];
  const emit = (lvl: Exclude<LogLevel, 'none'>, msg: string, fields?: LogFields) => {
    if (RANK[lvl] < threshold) return;
    const record: Record<string, unknown> = { level: lvl, msg, ext: 'lambda-trace-proxy' };
    if (fields) for (const [k, v] of Object.entries(fields)) if (v !== undefined) record[k] = v;
    write(JSON.stringify(record) + '\n');
  };
  return {
    level,
    enabled: (lvl) => RANK[lvl] >= threshold,
    debug: (msg, f) => emit('debug', msg, f),
    info: (msg, f) => emit('info', msg, f),
    warn: (msg, f) => emit('warn', msg, f),
    error: (msg, f) => emit('error', msg, f),
  };
}

/** The OpenTelemetry API's logger shape (`diag`), declared here so this file loads nothing of the SDK. */
export interface DiagnosticLogger {
  error(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  debug(message: string, ...args: unknown[]): void;
  verbose(message: string, ...args: unknown[]): void;
}

/** Long enough for any OpenTelemetry diagnostic sentence, short enough that no payload rides along. */
const MAX_DIAGNOSTIC_CHARS = 500;

/**
 * Routes the OpenTelemetry libraries' own diagnostics (`diag.setLogger`) into
 * our JSON lines, at their level (verbose is debug), code LRAP_OTEL_DIAGNOSTIC.
 * Only the message is kept: the extra arguments are objects (errors, spans,
 * responses) that may carry payloads or credentials.
 */
export function diagnosticLogger(log: Logger): DiagnosticLogger {
  const emit = (level: Exclude<LogLevel, 'none'>) => (message: string) => {
    if (!log.enabled(level)) return;
    const text = String(message);
    log[level](text.length > MAX_DIAGNOSTIC_CHARS ? `${text.slice(0, MAX_DIAGNOSTIC_CHARS)}…` : text, { code: 'LRAP_OTEL_DIAGNOSTIC' });
  };
  return { error: emit('error'), warn: emit('warn'), info: emit('info'), debug: emit('debug'), verbose: emit('debug') };
}
