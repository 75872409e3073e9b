// The event, read once. Trigger detection, context joining and injection all work from this view:
// the root object is scanned a single time with EVENT_SHAPE (which keeps the header maps' positions
// for the splice too), so nothing downstream scans the bytes again.
//
// A large event need not be read whole. Its head is enough when it ends inside a string member
// tracing does not read (API Gateway, ALB and function URLs put `body` last, after the header maps
// and the request context): the view is then built from the members before it, the splice points
// are known, and the rest of the event can go to the runtime as it arrives, unread. Members after
// such a string are not read. AWS puts only `isBase64Encoded`, `pathParameters` and
// `stageVariables` there, none of which tracing reads; an event written in another order may be
// classified from less than it holds, but its bytes still reach the runtime unchanged apart from the
// splice.

import { readRootObject, readRootObjectHead, shapeNames, type JsonObjectView } from './json-scan.ts';
import { classifyRoot, EVENT_SHAPE, type TriggerInfo } from './triggers.ts';

export interface EventView {
  /** The bytes read: the whole event, or its head. */
  readonly bytes: Buffer;
  /** The root object as EVENT_SHAPE reads it; undefined when the event is not a JSON object. */
  readonly root: JsonObjectView | undefined;
  readonly trigger: TriggerInfo;
  /** Whether `bytes` is the whole event. */
  readonly whole: boolean;
}

/** A head that ends in a nested value is read further up to this; past it, the event is read whole. */
const HEAD_MAX_BYTES = 256 * 1024;

/** The view of a whole event. */
export function viewEvent(event: Buffer, functionName: string): EventView {
  const root = readRootObject(event, EVENT_SHAPE);
  return { bytes: event, root, trigger: classifyRoot(event, root, functionName), whole: true };
}

/**
 * The view of an event from its first bytes, when they are enough; 'more' when a longer head
 * may be; 'whole' when only the whole event will do (a `Records` batch, a large nested value).
 */
export function viewEventHead(head: Buffer, functionName: string): EventView | 'more' | 'whole' {
  const read = readRootObjectHead(head, EVENT_SHAPE);
  if (read === undefined) {
    // Not an object: classified as a direct invocation, whatever follows.
    return { bytes: head, root: undefined, trigger: classifyRoot(head, undefined, functionName), whole: false };
  }
  if (read === 'incomplete') return head.length < HEAD_MAX_BYTES ? 'more' : 'whole';
  // A string tracing reads (a path, a route) is never large: wait for its end.
  if (shapeNames(head, read.open, EVENT_SHAPE)) return head.length < HEAD_MAX_BYTES ? 'more' : 'whole';
  return { bytes: head, root: read.root, trigger: classifyRoot(head, read.root, functionName), whole: false };
}
