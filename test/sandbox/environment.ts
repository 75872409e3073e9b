import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/**
 * Variables Lambda sets for the runtime but withholds from extensions
 * (Extensions API guide, "Runtime environment variables not available to extensions").
 */
export const HIDDEN_FROM_EXTENSIONS: readonly string[] = [
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_XRAY_CONTEXT_MISSING',
  'AWS_XRAY_DAEMON_ADDRESS',
  'LAMBDA_RUNTIME_DIR',
  'LAMBDA_TASK_ROOT',
  '_AWS_XRAY_DAEMON_ADDRESS',
  '_AWS_XRAY_DAEMON_PORT',
  '_HANDLER',
];

/**
 * Keys a function's configuration may not set ("Reserved environment
 * variables" in configuration-envvars.html); Lambda refuses such a configuration.
 */
export const RESERVED_KEYS: readonly string[] = [
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
];

export interface FunctionIdentity {
  readonly functionName: string;
  readonly functionVersion: string;
  readonly memoryMb: number;
  readonly handler: string;
  readonly region: string;
  readonly accountId: string;
}

export interface EnvironmentInputs {
  readonly identity: FunctionIdentity;
  /** The function's own variables (OTEL_*, LRAP_*, AWS_LAMBDA_EXEC_WRAPPER…). */
  readonly functionEnv: Readonly<Record<string, string>>;
  /** `host:port` of the sandbox's API server. */
  readonly runtimeApi: string;
  readonly layerDir: string;
  readonly taskRoot: string;
  /** `AWS_EXECUTION_ENV`; null for OS-only runtimes, which have none. */
  readonly executionEnv: string | null;
  /** 1 = on-demand; more = Lambda Managed Instances. */
  readonly concurrency: number;
  /** `AWS_LAMBDA_EXEC_WRAPPER`, a plain function variable: extensions see it too. */
  readonly wrapper: string | null;
}

export interface ProcessEnvironments {
  readonly runtime: Readonly<Record<string, string>>;
  readonly extensions: Readonly<Record<string, string>>;
}

/**
 * Builds the two environments of one execution environment (one Init: the log
 * stream name is new each time, like a new sandbox in Lambda). Nothing of the
 * test process leaks in but PATH and HOME.
 */
export function buildEnvironments(inputs: EnvironmentInputs): ProcessEnvironments {
  const { identity } = inputs;
  const managedInstances = inputs.concurrency > 1;
  const shared: Record<string, string> = {
    // Lambda's PATH ends with /opt/bin; the test's own PATH keeps tools reachable.
    PATH: `${process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin'}:${join(inputs.layerDir, 'bin')}`,
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    ...inputs.functionEnv,
    AWS_LAMBDA_FUNCTION_NAME: identity.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: identity.functionVersion,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(identity.memoryMb),
    AWS_REGION: identity.region,
    AWS_DEFAULT_REGION: identity.region,
    AWS_LAMBDA_INITIALIZATION_TYPE: managedInstances ? 'lambda-managed-instances' : 'on-demand',
    AWS_LAMBDA_RUNTIME_API: inputs.runtimeApi,
    // Fake role credentials: SigV4 code paths get well-formed values, no real account is reachable.
    AWS_ACCESS_KEY_ID: 'ASIASANDBOXEXAMPLE00',
    AWS_SECRET_ACCESS_KEY: 'sandbox/secret/access/key/EXAMPLEKEY00',
    AWS_SESSION_TOKEN: 'sandbox-session-token',
  };
  const home = process.env['HOME'];
  if (home !== undefined) shared['HOME'] = home;
  if (inputs.wrapper !== null) shared['AWS_LAMBDA_EXEC_WRAPPER'] = inputs.wrapper;
  // Given to both: the README marks it UNVERIFIED for extensions; nothing hides it from them.
  if (managedInstances) shared['AWS_LAMBDA_MAX_CONCURRENCY'] = String(inputs.concurrency);

  const runtimeOnly: Record<string, string> = {
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${identity.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: logStreamName(identity.functionVersion),
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
    // Lambda uses 169.254.79.129:2000; loopback here so no test ever sends a datagram off the machine.
    AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
    _AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1',
    _AWS_XRAY_DAEMON_PORT: '2000',
    LAMBDA_RUNTIME_DIR: '/var/runtime',
    LAMBDA_TASK_ROOT: inputs.taskRoot,
    _HANDLER: identity.handler,
  };
  if (inputs.executionEnv !== null) runtimeOnly['AWS_EXECUTION_ENV'] = inputs.executionEnv;

  const extensions: Record<string, string> = { ...shared };
  for (const key of HIDDEN_FROM_EXTENSIONS) delete extensions[key];
  // _X_AMZN_TRACE_ID is never set here: managed runtimes set it per invoke themselves.
  return { runtime: { ...shared, ...runtimeOnly }, extensions };
}

/** `2024/05/17/[$LATEST]<32 hex>`, Lambda's log stream naming. */
function logStreamName(version: string): string {
  const date = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return `${date}/[${version}]${randomBytes(16).toString('hex')}`;
}
