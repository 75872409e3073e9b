// Entry point, and the only module that exits the process.
//
// Start-up order matters, since it is paid on every cold start: open the proxy
// listener, register with the Extensions API (Lambda cannot start the runtime
// before every extension has registered), and only then load tracing and its
// exporter, while Lambda starts the runtime. No event can reach the runtime
// before we call /event/next, so tracing is ready for the first invocation.

import './install-process-clock.ts'; // First: the global `performance` without node:perf_hooks (process-clock.ts).
import { parseCoreConfig, parseExtensionsApi, parseLogLevelSetting, type CoreConfig, type HostPort } from './settings/core-config.ts';
import { logSettingProblems, SettingProblems } from './settings/env-values.ts';
import { ConfigError, ExtensionsApiError, ListenError, describeError } from './errors.ts';
import { ExtensionsApiClient, retryingBrokenConnections, type Registration } from './lifecycle/extensions-api.ts';
import { createLogger, type Logger } from './log.ts';
import { RuntimeApiProxy } from './proxy/runtime-api-proxy.ts';
import { collectorsOnDemand } from './proxy/young-generation.ts';
import { QuietRelease } from './lifecycle/quiet-release.ts';
import { fitHeapToExtension } from './heap-settings.ts';
import { loadBundleBeside } from './load-bundle.ts';
import { guardObserver } from './proxy/invocation-observer.ts';
import { runLifecycle, type LifecycleHooks } from './lifecycle/lifecycle.ts';
import { RuntimeWatch } from './lifecycle/runtime-watch.ts';
import { HELP_TEXT } from './help.ts';
import { takeLauncherHandover, type LauncherHandover, type RegisterHandover } from './settings/launcher-handover.ts';

declare const LRAP_VERSION: string;
declare const LRAP_TRACING_MODULE: string;
// Tracing's source, imported when running from src/ (the layer loads its bundle instead, below).
const TRACING_SOURCE = './tracing/start-tracing.ts';
const VERSION = typeof LRAP_VERSION === 'string' ? LRAP_VERSION : 'dev';
const DEFAULT_NAME = 'lambda-trace-proxy';

async function main(argv: readonly string[]): Promise<number> {
  // Layer-internal: what the launcher did before Node started. Not the function's
  // settings, and nothing after us (nor a child process) is to see them.
  const handover = takeLauncherHandover(process.env);
  if (argv.includes('--version')) {
    process.stdout.write(`lambda-trace-proxy ${VERSION} (node ${process.versions.node})\n`);
    return 0;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP_TEXT);
    return 0;
  }
  // The launcher passes its own file name: Lambda requires it as Lambda-Extension-Name.
  const nameIndex = argv.indexOf('--extension-name');
  const extensionName = (nameIndex >= 0 ? argv[nameIndex + 1] : undefined) || DEFAULT_NAME;
  // The one read of the environment: everything in it is parsed by src/settings/.
  const env = process.env;
  const logging = parseLogLevelSetting(env);
  const log = createLogger(logging.level);
  logSettingProblems(log, logging.problems);

  let extensionsApi: HostPort;
  let client: ExtensionsApiClient;
  try {
    extensionsApi = parseExtensionsApi(env);
    client = new ExtensionsApiClient(extensionsApi);
  } catch (err) {
    log.error(describeError(err), { code: 'LRAP_CONFIG_INVALID' });
    return 1; // Without the Extensions API there is no one to report to.
  }

  let config: CoreConfig;
  const problems = new SettingProblems('LRAP_TRACING_CONFIG_INVALID');
  try {
    config = parseCoreConfig(env, extensionName, extensionsApi, problems);
  } catch (err) {
    return failInit(client, extensionName, err, log, handover.register);
  }
  logSettingProblems(log, problems.list);

  let hooks: LifecycleHooks | undefined;
  // V8's gc, made when first used (young-generation.ts says why not at Init).
  const collectors = collectorsOnDemand();
  // Managed Instances only: an on-demand environment freezes when it goes quiet (quiet-release.ts).
  const quiet = config.managedInstances ? new QuietRelease({
    busy: () => watch.invocationsRunning,
    release: () => collectors.collectGarbage({ type: 'major', flavor: 'last-resort' }),
  }) : undefined;
  // Settles when the runtime gets its first event through the proxy: V8's heap is fitted then (below).
  const firstEventHandedOut = Promise.withResolvers<void>();
  // The lifecycle watches the runtime's calls from the first one on, tracing or not.
  const watch = new RuntimeWatch({
    log,
    listenerPort: config.listenerPort,
    onAbandoned: config.managedInstances ? (requestId) => {
      try {
        hooks?.abandoned(requestId);
      } catch (err) {
        log.warn('tracing could not end an abandoned invocation', { code: 'LRAP_TRACING_HOOK_FAILED', requestId, error: describeError(err) });
      }
    } : undefined,
    onQuiet: quiet && (() => quiet.quiet()),
    onHandedOut: firstEventHandedOut.resolve,
  });
  const proxy = new RuntimeApiProxy(config.upstream, watch, log, collectors.collectYoung);
  // The port is bound before the register request can leave (it is bound at
  // once, listen-without-cluster.ts; the request waits for its connection), and
  // the two overlap: measured ~3.5 ms less to register than awaiting one after
  // the other. Listening after the request has left would take listen()'s time
  // off the register path (~5 ms when it still loaded node:dns and node:cluster),
  // but a runtime that starts in a few ms (a Go or Rust bootstrap) could then
  // connect before the bind, and a refused connection fails its Init.
  // With the standalone layers both are done already, by the launcher (src/stub).
  const listening = listenForRuntime(proxy, config.listenerPort, handover, log).then(() => undefined, (err: unknown) => err);
  const registering = registerRetrying(client, extensionName, config.managedInstances ? ['SHUTDOWN'] : ['INVOKE', 'SHUTDOWN'], log, handover.register);
  registering.catch(() => undefined); // Awaited below, after the listener: its failure is handled there.
  const listenFailure = await listening;
  if (listenFailure !== undefined) {
    await registering.catch(() => undefined);
    const listenError = new ListenError(
      `cannot listen on 127.0.0.1:${config.listenerPort} (${describeError(listenFailure)}): another process or extension uses that port; set LRAP_LISTENER_PORT to a free one and point the wrapper at it.`, listenFailure);
    return failInit(client, extensionName, listenError, log);
  }
  let registration: Registration;
  try {
    registration = await registering;
  } catch (err) {
    // Without an identifier nothing can be reported; exiting during Init is how Lambda learns (Extension.Crash).
    log.error(describeError(err), { code: 'LRAP_EXTENSIONS_API_FAILED' });
    return 1;
  }
  log.debug('registered', { code: 'LRAP_REGISTERED', msSinceStart: Math.round(performance.now()) });

  let warmedUp: Promise<void> | undefined;
  if (config.tracingEnabled) {
    try {
      // A file of its own in the layer (see Makefile): compiling it is only paid now, after register.
      const { startTracing } = (typeof LRAP_TRACING_MODULE === 'string'
        ? loadBundleBeside(module, LRAP_TRACING_MODULE)
        : await import(TRACING_SOURCE)) as typeof import('./tracing/start-tracing.ts');
      const tracing = await startTracing({ env, config, registration, log, telemetrySockets: handover.telemetry });
      if (tracing) {
        proxy.setObserver(guardObserver(tracing.observer, log));
        hooks = tracing.hooks;
        warmedUp = tracing.warmedUp;
      }
    } catch (err) {
      log.warn('tracing could not start; running as a plain proxy', { code: 'LRAP_TRACING_DISABLED', error: describeError(err) });
    }
  }
  // The launcher's Telemetry API sockets, if platform telemetry is off or did not start: nothing is to listen for nobody.
  handover.telemetry?.closeUntaken();
  log.debug('ready', { msSinceStart: Math.round(performance.now()), tracing: hooks !== undefined });
  // V8's heap flags (heap-settings.ts) when the first event reaches the runtime, not at the end of
  // Init: node:v8, which sets them, holds 0.3 MiB of an environment initialised and not yet invoked
  // (test/bench/idle-breakdown.ts), and before an event there is no heap to fit. Loading it costs
  // ~0.4 ms of CPU, once, while the runtime runs its first event. Not after that invocation (its code
  // then compiled before the flags were set): 1 KB cycles cost 2-14 % more CPU, in four of four
  // same-run comparisons (test/bench/footprint.ts). And not before the warm-up export has loaded what
  // exporting needs (node:https for an https collector): Node modules loaded after the flags are set
  // compile without Node's code cache.
  void Promise.all([warmedUp, firstEventHandedOut.promise]).then(() => setImmediate(fitHeapToExtension));
  return runLifecycle(client, proxy, watch, hooks, log);
}

/** Serves on the launcher's listening socket when it handed one over, else listens on the port. */
async function listenForRuntime(proxy: RuntimeApiProxy, port: number, handover: LauncherHandover, log: Logger): Promise<number> {
  if (handover.listenFd === undefined) return proxy.listen(port);
  try {
    return await proxy.listenOnFd(handover.listenFd, port);
  } catch (err) {
    // Not a listening socket after all, or not on our port (the proxy has closed it): listen ourselves.
    log.warn('cannot serve on the launcher\'s listener; listening again', { code: 'LRAP_HANDOVER_FAILED', error: describeError(err) });
    return proxy.listen(port);
  }
}

/** Registers if need be (init/error needs our identifier), reports the error, and gives the exit code. */
async function failInit(client: ExtensionsApiClient, name: string, err: unknown, log: Logger, handover?: RegisterHandover): Promise<number> {
  const errorType = err instanceof ConfigError ? err.lambdaErrorType : err instanceof ListenError ? 'Extension.ListenerFailed' : 'Extension.InitFailed';
  const code = err instanceof ConfigError || err instanceof ListenError ? err.code : 'LRAP_INIT_FAILED';
  const message = describeError(err);
  log.error(message, { code });
  try {
    if (!client.registered) await registerRetrying(client, name, ['SHUTDOWN'], log, handover);
    await retryingBrokenConnections(() => client.initError(errorType, message), log, 'reporting the init error again');
  } catch (reportErr) {
    // Lambda still learns that Init failed: we exit before it ends (Extension.Crash instead of our error type).
    log.error('could not report the init error to Lambda', { code: 'LRAP_EXTENSIONS_API_FAILED', error: describeError(reportErr) });
  }
  return 1;
}

/**
 * Registers, again if the connection breaks before Lambda's answer. Lambda
 * refusing the repeat means it took the first one and its answer (our
 * identifier) was lost: nothing can be reported without it, so that is a
 * failure of its own, for the caller to exit on.
 */
async function registerRetrying(
  client: ExtensionsApiClient, name: string, events: readonly ('INVOKE' | 'SHUTDOWN')[], log: Logger, handover: RegisterHandover = { kind: 'none' },
): Promise<Registration> {
  // Lambda answered the launcher: that answer is ours, refusal included (Lambda's answers are not retried).
  if (handover.kind === 'answered') return client.adoptRegistration(name, handover);
  // The launcher's register broke before its answer: that was our first attempt, and this is the repeat.
  let launcherBroke = handover.kind === 'broken'
    ? new ExtensionsApiError(`the launcher's registration broke before Lambda's answer: ${handover.error}`) : undefined;
  const retried = { sent: false };
  try {
    return await retryingBrokenConnections(() => {
      const broke = launcherBroke;
      launcherBroke = undefined;
      return broke ? Promise.reject(broke) : client.register(name, events);
    }, log, 'registering again', retried);
  } catch (err) {
    if (!retried.sent || !(err instanceof ExtensionsApiError) || err.status !== 403) throw err;
    throw new ExtensionsApiError(
      `the answer to our registration was lost in a broken connection and Lambda refuses a second one (${describeError(err)}): `
      + 'exiting, so that Lambda fails this Init and starts the environment again', 403, err);
  }
}

// A bug in the extension must not take the function's Runtime API down with it.
// Exiting would make Lambda fail the invocation in flight and restart the
// environment (a cold start for the next one), so we log it and keep serving:
// the proxy guards each exchange itself (a throw in its handling answers that
// runtime call 502, or cuts it if part of the answer is out, and releases the
// invocation), and holds no shared state that such an error corrupts. What
// reaches this handler happened outside any exchange.
const reportInternalError = (err: unknown): void => {
  process.stderr.write(JSON.stringify({ level: 'error', msg: 'internal error', code: 'LRAP_INTERNAL_ERROR', error: describeError(err), ext: DEFAULT_NAME }) + '\n');
};
process.on('uncaughtException', reportInternalError);
process.on('unhandledRejection', reportInternalError);

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(JSON.stringify({ level: 'error', msg: describeError(err), code: 'LRAP_FATAL', ext: DEFAULT_NAME }) + '\n');
    process.exit(1);
  },
);
