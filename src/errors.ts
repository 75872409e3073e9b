// Every failure the extension reports has a stable `code`: codes are API (they
// appear in logs and in tests), so they are never renamed. Messages say what
// happened and what to do about it.

export class LrapError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A setting the extension cannot run with. Reported to Lambda as an init error. */
export class ConfigError extends LrapError {
  /** The `Extension.*` error type sent to `/extension/init/error`. */
  readonly lambdaErrorType: string;
  constructor(lambdaErrorType: string, message: string) {
    super('LRAP_CONFIG_INVALID', message);
    this.lambdaErrorType = lambdaErrorType;
  }
}

/** The proxy listener could not be opened. */
export class ListenError extends LrapError {
  constructor(message: string, cause: unknown) {
    super('LRAP_LISTEN_FAILED', message, { cause });
  }
}

/** The Extensions API refused us or could not be reached. */
export class ExtensionsApiError extends LrapError {
  readonly status: number | undefined;
  constructor(message: string, status?: number, cause?: unknown) {
    super('LRAP_EXTENSIONS_API_FAILED', message, { cause });
    this.status = status;
  }
}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
