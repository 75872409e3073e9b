// SNS: one message per invocation, whose trace message attributes are the parent.

import { SpanKind } from '@opentelemetry/api';
import { ATTR_CLOUD_REGION, ATTR_MESSAGING_MESSAGE_ID, FAAS_TRIGGER_VALUE_PUBSUB, MESSAGING_SYSTEM_VALUE_AWS_SNS } from '@opentelemetry/semantic-conventions/incubating';
import { type JsonObjectView } from './json-scan.ts';
import { arnRegion, arnResource, commonValue, objectMember, stringMember } from './members.ts';
import { type EventTriggerInfo, type TraceCarrier, type TraceHeaderName, addTraceMessageAttributes, eventTrigger, messagingAttributes, processSpanName, setAttribute } from './trigger.ts';

/** What an SNS record is read for (SNS spells it `EventSource`). */
export const SNS_RECORD_SHAPE = { EventSource: true, Sns: { TopicArn: true, MessageId: true, MessageAttributes: { '*': { Value: true } } } } as const;

export function snsTrigger(event: Buffer, records: readonly JsonObjectView[], functionName: string): EventTriggerInfo {
  const topics: (string | undefined)[] = [];
  const regions: (string | undefined)[] = [];
  const carriers: TraceCarrier[] = [];
  let messageId: string | undefined;
  for (const record of records) {
    const sns = objectMember(event, record, 'Sns');
    const topicArn = sns === undefined ? undefined : stringMember(event, sns, 'TopicArn');
    topics.push(arnResource(topicArn));
    regions.push(arnRegion(topicArn));
    if (sns === undefined) continue;
    messageId = stringMember(event, sns, 'MessageId');
    const carrier: Partial<Record<TraceHeaderName, string[]>> = {};
    addTraceMessageAttributes(event, carrier, objectMember(event, sns, 'MessageAttributes'), 'Value');
    if (Object.keys(carrier).length > 0) carriers.push(carrier);
  }
  const topic = commonValue(topics);
  // SNS delivers one message per invocation: it is not a batch, so no batch count.
  const attributes = messagingAttributes(MESSAGING_SYSTEM_VALUE_AWS_SNS, topic);
  if (records.length === 1) setAttribute(attributes, ATTR_MESSAGING_MESSAGE_ID, messageId);
  setAttribute(attributes, ATTR_CLOUD_REGION, commonValue(regions));
  const single = records.length === 1;
  const spanName = processSpanName(topic, topics.every((t) => t === topics[0]), functionName);
  return eventTrigger('sns', FAAS_TRIGGER_VALUE_PUBSUB, SpanKind.CONSUMER, spanName, attributes, {
    parentCarrier: single ? carriers[0] : undefined,
    linkCarriers: single ? [] : carriers,
  });
}
