/**
 * Errors thrown by the sandbox. Callers branch on `code`, never on the message.
 */
export class SandboxError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A `LambdaSandbox` option is invalid; the message names the option and what is allowed. */
export class SandboxConfigError extends SandboxError {
  constructor(message: string) {
    super('SANDBOX_CONFIG_INVALID', message);
  }
}

/** The API was used out of order (invoke before start, invoke after shutdown…). */
export class SandboxStateError extends SandboxError {
  constructor(message: string) {
    super('SANDBOX_INVALID_STATE', message);
  }
}

export type InitFailureReason =
  | 'timeout'
  | 'extension-init-error'
  | 'runtime-init-error'
  | 'process-exited'
  | 'too-many-extensions'
  | 'aborted';

/**
 * The Init phase failed. `errorType` is what Lambda would report: the
 * `Lambda-Extension-Function-Error-Type` / `Lambda-Runtime-Function-Error-Type`
 * the process posted, or a platform type such as `Sandbox.Timedout`.
 */
export class SandboxInitError extends SandboxError {
  readonly reason: InitFailureReason;
  readonly errorType: string;

  constructor(reason: InitFailureReason, errorType: string, message: string) {
    super('SANDBOX_INIT_FAILED', message);
    this.reason = reason;
    this.errorType = errorType;
  }
}
