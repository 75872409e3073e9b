// One error class for the construct's own checks, with a stable code (as the
// extension's errors have): callers and tests branch on `code`, not on text.

export class TraceProxyConfigError extends Error {
  override readonly name = 'TraceProxyConfigError';
  readonly code = 'LRAP_CDK_CONFIG_INVALID';
}
