// EventBridge events and scheduled rules (a timer).

import { SpanKind } from '@opentelemetry/api';
import { ATTR_CLOUD_REGION, ATTR_FAAS_TRIGGER, ATTR_MESSAGING_MESSAGE_ID, FAAS_TRIGGER_VALUE_PUBSUB, FAAS_TRIGGER_VALUE_TIMER } from '@opentelemetry/semantic-conventions/incubating';
import { type JsonObjectView } from './json-scan.ts';
import { stringMember } from './members.ts';
import { type TriggerInfo, eventTrigger, messagingAttributes, setAttribute } from './trigger.ts';

/** What an EventBridge event is read for. */
export const EVENTBRIDGE_SHAPE = { 'detail-type': true, source: true, id: true, region: true } as const;

const MESSAGING_SYSTEM_AWS_EVENTBRIDGE = 'aws_eventbridge';

export function classifyEventBridge(event: Buffer, root: JsonObjectView, functionName: string): TriggerInfo | undefined {
  const source = stringMember(event, root, 'source');
  const detailType = stringMember(event, root, 'detail-type');
  if (source === undefined || detailType === undefined) return undefined;
  if (source === 'aws.events' && detailType === 'Scheduled Event') {
    return eventTrigger('schedule', FAAS_TRIGGER_VALUE_TIMER, SpanKind.SERVER, functionName, {
      [ATTR_FAAS_TRIGGER]: FAAS_TRIGGER_VALUE_TIMER,
    });
  }
  // The bus is not in the event, so there is no destination to name the span after.
  const attributes = messagingAttributes(MESSAGING_SYSTEM_AWS_EVENTBRIDGE, undefined);
  setAttribute(attributes, ATTR_MESSAGING_MESSAGE_ID, stringMember(event, root, 'id'));
  setAttribute(attributes, ATTR_CLOUD_REGION, stringMember(event, root, 'region'));
  return eventTrigger('eventbridge', FAAS_TRIGGER_VALUE_PUBSUB, SpanKind.CONSUMER, functionName, attributes);
}
