import type { ServerResponse } from 'node:http';
import { readErrorDocument } from './error-document.ts';
import { rawHeader } from './raw-headers.ts';
import type { RecordedRequest } from './recorder.ts';
import { acceptedReply, errorReply, jsonReply } from './replies.ts';
import type { Reply } from './replies.ts';
import type { RouteMatch } from './routes.ts';

export type ExtensionEventType = 'INVOKE' | 'SHUTDOWN';

export interface FunctionMetadata {
  readonly functionName: string;
  readonly functionVersion: string;
  readonly handler: string;
  readonly accountId: string;
}

export interface ExtensionView {
  readonly name: string;
  /** Error type of a posted init/error or exit/error: later calls are refused. */
  readonly reportedError: string | null;
  readonly inNext: boolean;
}

/** What the Extensions API needs from the execution environment. */
export interface ExtensionsApiHost {
  readonly registrationOpen: boolean;
  readonly managedInstances: boolean;
  readonly metadata: FunctionMetadata;
  /** Names of the executables started in this Init. */
  expectedNames(): readonly string[];
  isRegistered(name: string): boolean;
  /** Registers and returns the new `Lambda-Extension-Identifier`. */
  register(name: string, events: ReadonlySet<ExtensionEventType>): string;
  noteRefusedRegistration(name: string, errorType: string, errorMessage: string): void;
  extension(id: string): ExtensionView | undefined;
  /** Long poll: keep `res` until an event is due (no timeout, as in Lambda). */
  waitForEvent(id: string, res: ServerResponse): void;
  /** False when Init is not in progress (the call is then refused). */
  reportExtensionInitError(id: string, errorType: string, errorMessage: string): boolean;
  reportExitError(id: string, errorType: string, errorMessage: string): void;
  /** Telemetry API subscription of a registered extension; the host validates and answers. */
  subscribeTelemetry(id: string, body: Buffer): Reply;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Extensions API `2020-01-01`, the Telemetry API subscription, and the Logs API stub. */
export function handleExtensionsApi(
  host: ExtensionsApiHost,
  match: RouteMatch,
  request: RecordedRequest,
  res: ServerResponse,
): Reply | 'pending' {
  switch (match.route) {
    case 'extension.register':
      return register(host, request);
    case 'extension.next':
      return next(host, request, res);
    case 'extension.init-error':
      return postError(host, request, 'init');
    case 'extension.exit-error':
      return postError(host, request, 'exit');
    case 'telemetry.subscribe': {
      const found = identify(host, request);
      if ('status' in found) return found;
      return host.subscribeTelemetry(found.id, request.body);
    }
    case 'logs.subscribe':
      return jsonReply(202, { errorMessage: 'Logs API is not supported', errorType: 'Logs.NotSupported' });
    default:
      throw new Error(`not an Extensions API route: ${match.route}`);
  }
}

function register(host: ExtensionsApiHost, request: RecordedRequest): Reply {
  const name = rawHeader(request.rawHeaders, 'Lambda-Extension-Name') ?? '';
  const refuse = (errorType: string, errorMessage: string): Reply => {
    host.noteRefusedRegistration(name, errorType, errorMessage);
    return errorReply(403, errorType, errorMessage);
  };
  if (name === '') return refuse('Extension.InvalidExtensionName', 'Empty extension name');
  const events = parseEvents(request.body);
  if (typeof events === 'string') return refuse('InvalidRequestFormat', events);
  if (!host.registrationOpen) return refuse('Extension.RegistrationClosed', 'Extension registration closed already');
  // Lambda would take an unknown name for an internal extension registering from the
  // runtime process; the sandbox has no internal extensions, so the name must be a file name.
  if (!host.expectedNames().includes(name)) {
    return refuse(
      'Extension.InvalidExtensionName',
      `Unknown extension name ${JSON.stringify(name)}: an external extension registers with its executable's file name (${host.expectedNames().join(', ') || 'none started'})`,
    );
  }
  if (host.isRegistered(name)) {
    return refuse(
      'Extension.InvalidExtensionState',
      `State transition from Registered to Registered failed for extension ${name}. Error: State transition is not allowed`,
    );
  }
  for (const event of events) {
    if (event !== 'INVOKE' && event !== 'SHUTDOWN') return refuse('Extension.InvalidEventType', `${event}: invalid event type`);
    if (event === 'INVOKE' && host.managedInstances) {
      // Our modelling: README §2b says the registration is refused and the extension fails
      // its Init, without the exact answer; we reuse RIE's error type for a refused event.
      return refuse(
        'Extension.InvalidEventType',
        'INVOKE: extensions cannot subscribe to INVOKE in Lambda Managed Instances (AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances)',
      );
    }
  }
  const id = host.register(name, new Set(events.filter(isEventType)));
  const metadata = host.metadata;
  const accept = rawHeader(request.rawHeaders, 'Lambda-Extension-Accept-Feature') ?? '';
  const wantsAccountId = accept.split(',').some((f) => f.trim() === 'accountId');
  return jsonReply(
    200,
    {
      functionName: metadata.functionName,
      functionVersion: metadata.functionVersion,
      handler: metadata.handler,
      ...(wantsAccountId ? { accountId: metadata.accountId } : {}),
    },
    ['Lambda-Extension-Identifier', id],
  );
}

function next(host: ExtensionsApiHost, request: RecordedRequest, res: ServerResponse): Reply | 'pending' {
  const found = identify(host, request);
  if ('status' in found) return found;
  const { id, extension } = found;
  if (extension.reportedError !== null || extension.inNext) {
    return errorReply(
      403,
      'Extension.InvalidExtensionState',
      `State transition to Ready failed for extension ${id}. Error: State transition is not allowed`,
    );
  }
  host.waitForEvent(id, res);
  return 'pending';
}

function postError(host: ExtensionsApiHost, request: RecordedRequest, kind: 'init' | 'exit'): Reply {
  const found = identify(host, request);
  if ('status' in found) return found;
  const { id, extension } = found;
  const errorType = rawHeader(request.rawHeaders, 'Lambda-Extension-Function-Error-Type') ?? '';
  if (errorType === '') {
    return errorReply(403, 'Extension.MissingHeader', 'Lambda-Extension-Function-Error-Type not found');
  }
  const refusal = errorReply(
    403,
    'Extension.InvalidExtensionState',
    `State transition to ${kind === 'init' ? 'InitError' : 'ExitError'} failed for extension ${id}. Error: State transition is not allowed`,
  );
  // "later calls fail": one error report per extension.
  if (extension.reportedError !== null) return refusal;
  const errorMessage = readErrorDocument(request.body).errorMessage ?? '';
  if (kind === 'init') {
    if (!host.reportExtensionInitError(id, errorType, errorMessage)) return refusal;
  } else {
    host.reportExitError(id, errorType, errorMessage);
  }
  return acceptedReply();
}

/** RIE's `AgentUniqueIdentifierHeaderValidator` plus the look-up of the extension. */
function identify(host: ExtensionsApiHost, request: RecordedRequest): Reply | { id: string; extension: ExtensionView } {
  const id = rawHeader(request.rawHeaders, 'Lambda-Extension-Identifier') ?? '';
  if (id === '') return errorReply(403, 'Extension.MissingExtensionIdentifier', 'Missing Lambda-Extension-Identifier header');
  if (!UUID.test(id)) return errorReply(403, 'Extension.InvalidExtensionIdentifier', 'Invalid Lambda-Extension-Identifier');
  const extension = host.extension(id);
  if (extension === undefined) return errorReply(403, 'Extension.UnknownExtensionIdentifier', `Unknown extension ${id}`);
  return { id, extension };
}

/** `{"events": [...]}` → the list, or a message saying what is wrong. */
function parseEvents(body: Buffer): string[] | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return `register body is not JSON: ${(err as Error).message}`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'register body must be a JSON object';
  const events: unknown = (parsed as { events?: unknown }).events;
  if (events === undefined) return [];
  if (!Array.isArray(events) || !events.every((e): e is string => typeof e === 'string')) {
    return '"events" must be an array of strings';
  }
  return events;
}

function isEventType(event: string): event is ExtensionEventType {
  return event === 'INVOKE' || event === 'SHUTDOWN';
}
