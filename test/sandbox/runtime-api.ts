import type { ServerResponse } from 'node:http';
import { readErrorDocument } from './error-document.ts';
import type { RuntimePost } from './invocations.ts';
import { rawHeader } from './raw-headers.ts';
import type { RecordedRequest } from './recorder.ts';
import { acceptedReply, errorReply } from './replies.ts';
import type { Reply } from './replies.ts';
import type { RouteMatch } from './routes.ts';

/**
 * Largest buffered response Lambda accepts: 6 MiB + 100 B. One byte more is
 * answered 413 (RIE `interop.MaxPayloadSize`; README §1).
 */
export const MAX_BUFFERED_RESPONSE_BYTES = 6_291_556;

/** What the Runtime API needs from the execution environment. */
export interface RuntimeApiHost {
  /** Long poll: keep `res` until an invocation is handed out (no timeout, as in Lambda). */
  waitForInvocation(res: ServerResponse): void;
  invocationState(requestId: string): 'running' | 'finished' | 'unknown';
  completeInvocation(requestId: string, outcome: 'response' | 'error', post: RuntimePost): void;
  /** False when Init is not in progress (the call is then refused). */
  reportRuntimeInitError(errorType: string, errorMessage: string): boolean;
  restored(): void;
  reportRestoreError(errorType: string, errorMessage: string): void;
}

/** Runtime API `2018-06-01`: answers one call, or 'pending' for a long poll kept by the host. */
export function handleRuntimeApi(
  host: RuntimeApiHost,
  match: RouteMatch,
  request: RecordedRequest,
  res: ServerResponse,
): Reply | 'pending' {
  switch (match.route) {
    case 'runtime.next':
      host.waitForInvocation(res);
      return 'pending';
    case 'runtime.response':
      return postResponse(host, match.requestId ?? '', request);
    case 'runtime.error':
      return postError(host, match.requestId ?? '', request);
    case 'runtime.init-error':
      return postInitError(host, request);
    case 'runtime.restore-next':
      // SnapStart only (AWS_LAMBDA_INITIALIZATION_TYPE=snap-start): returns once the
      // snapshot is restored. The sandbox never snapshots, so it "restores" at once.
      host.restored();
      return { status: 200, body: Buffer.alloc(0) };
    case 'runtime.restore-error': {
      const { errorType, errorMessage } = describeError(request, 'Runtime.Unknown');
      host.reportRestoreError(errorType, errorMessage);
      return acceptedReply();
    }
    default:
      throw new Error(`not a Runtime API route: ${match.route}`);
  }
}

function postResponse(host: RuntimeApiHost, requestId: string, request: RecordedRequest): Reply {
  const refused = refuseUnlessRunning(host, requestId, 'InvocationResponse');
  if (refused !== null) return refused;
  const streamed = rawHeader(request.rawHeaders, 'Lambda-Runtime-Function-Response-Mode')?.toLowerCase() === 'streaming';
  if (!streamed && request.body.length > MAX_BUFFERED_RESPONSE_BYTES) {
    // RIE: the invocation ends with Function.ResponseSizeTooLarge for the caller;
    // a later post for the same id is an invalid state transition.
    host.completeInvocation(requestId, 'error', {
      status: 413,
      errorType: 'Function.ResponseSizeTooLarge',
      request,
      streamed,
    });
    return errorReply(
      413,
      'RequestEntityTooLarge',
      `Exceeded maximum allowed payload size (${MAX_BUFFERED_RESPONSE_BYTES} bytes).`,
    );
  }
  // A failure after the body started travels in trailers (streaming, and aws-lambda-go on every post).
  const trailerErrorType = rawHeader(request.trailers, 'Lambda-Runtime-Function-Error-Type');
  const failed = trailerErrorType !== undefined && trailerErrorType !== '';
  host.completeInvocation(requestId, failed ? 'error' : 'response', {
    status: 202,
    errorType: failed ? trailerErrorType : null,
    request,
    streamed,
  });
  return acceptedReply();
}

function postError(host: RuntimeApiHost, requestId: string, request: RecordedRequest): Reply {
  const refused = refuseUnlessRunning(host, requestId, 'InvocationErrorResponse');
  if (refused !== null) return refused;
  const header = rawHeader(request.rawHeaders, 'Lambda-Runtime-Function-Error-Type');
  const errorType = header !== undefined && header !== '' ? header : (readErrorDocument(request.body).errorType ?? null);
  host.completeInvocation(requestId, 'error', { status: 202, errorType, request, streamed: false });
  return acceptedReply();
}

function postInitError(host: RuntimeApiHost, request: RecordedRequest): Reply {
  const { errorType, errorMessage } = describeError(request, 'Runtime.Unknown');
  if (!host.reportRuntimeInitError(errorType, errorMessage)) {
    return errorReply(
      403,
      'InvalidStateTransition',
      'State transition from Ready to InitError failed for runtime. Error: State transition is not allowed',
    );
  }
  return acceptedReply();
}

/**
 * RIE answers an id that is not the current invocation with 400
 * `InvalidRequestID`, and a second post for the current one with 403
 * `InvalidStateTransition` (also seen in the field, DataDog #899). The sandbox
 * treats every id it handed out and that has ended like the current one.
 */
function refuseUnlessRunning(host: RuntimeApiHost, requestId: string, target: string): Reply | null {
  switch (host.invocationState(requestId)) {
    case 'running':
      return null;
    case 'finished':
      return errorReply(
        403,
        'InvalidStateTransition',
        `State transition from ResponseSent to ${target} failed for runtime. Error: State transition is not allowed`,
      );
    case 'unknown':
      return errorReply(400, 'InvalidRequestID', 'Invalid request ID');
  }
}

/** Error type from the `Lambda-Runtime-Function-Error-Type` header, else the body; message from the body. */
function describeError(request: RecordedRequest, fallbackType: string): { errorType: string; errorMessage: string } {
  const header = rawHeader(request.rawHeaders, 'Lambda-Runtime-Function-Error-Type');
  const document = readErrorDocument(request.body);
  const errorType = header !== undefined && header !== '' ? header : (document.errorType ?? fallbackType);
  return { errorType, errorMessage: document.errorMessage ?? '' };
}
