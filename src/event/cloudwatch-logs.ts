// CloudWatch Logs subscriptions.

import { SpanKind } from '@opentelemetry/api';
import { ATTR_FAAS_TRIGGER, FAAS_TRIGGER_VALUE_PUBSUB } from '@opentelemetry/semantic-conventions/incubating';
import { type EventTriggerInfo, eventTrigger } from './trigger.ts';

/** A CloudWatch Logs event is told by this member alone. */
export const CLOUDWATCH_LOGS_SHAPE = { awslogs: true } as const;

/** The payload is base64(gzip(JSON)): nothing in it is worth the decompression. */
export function cloudWatchLogsTrigger(functionName: string): EventTriggerInfo {
  return eventTrigger('cloudwatch-logs', FAAS_TRIGGER_VALUE_PUBSUB, SpanKind.CONSUMER, functionName, {
    [ATTR_FAAS_TRIGGER]: FAAS_TRIGGER_VALUE_PUBSUB,
  });
}
