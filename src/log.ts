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

/** Reads `LRAP_LOG_LEVEL`, else `OTEL_LOG_LEVEL` (whose `verbose`/`all` mean debug). */
export function parseLogLevel(raw: string | undefined): LogLevel | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = raw.trim().toLowerCase();
  switch (value) {
    case 'debug': case 'verbose': case 'all': case 'trace': return 'debug';
    case 'info': return 'info';
    case 'warn': case 'warning': return 'warn';
    case 'error': return 'error';
    case 'none': case 'off': case 'silent': return 'none';
    default: return undefined;
  }
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
