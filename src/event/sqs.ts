// SQS batches: kind CONSUMER, `<queue> process` (`multiple_sources process` for a batch from several
// queues), one link per message that carries a context (`AWSTraceHeader`, trace message attributes).

import { SpanKind } from '@opentelemetry/api';
import { ATTR_CLOUD_REGION, ATTR_MESSAGING_MESSAGE_ID, FAAS_TRIGGER_VALUE_PUBSUB, MESSAGING_SYSTEM_VALUE_AWS_SQS } from '@opentelemetry/semantic-conventions/incubating';
import { type JsonObjectView } from './json-scan.ts';
import { arnResource, objectMember, sharedStringMember, stringMember } from './members.ts';
import { type EventTriggerInfo, type TraceCarrier, type TraceHeaderName, addTraceMessageAttributes, eventTrigger, messagingAttributes, processSpanName, setAttribute } from './trigger.ts';

/** What an SQS record is read for. */
export const SQS_RECORD_SHAPE = {
  eventSource: true, eventSourceARN: true, awsRegion: true, messageId: true,
  attributes: { AWSTraceHeader: true }, messageAttributes: { '*': { stringValue: true } },
} as const;

export function sqsTrigger(event: Buffer, records: readonly JsonObjectView[], functionName: string): EventTriggerInfo {
  const arn = sharedStringMember(event, records, 'eventSourceARN');
  const queue = arnResource(arn.value);
  const attributes = messagingAttributes(MESSAGING_SYSTEM_VALUE_AWS_SQS, queue, records.length);
  if (records.length === 1 && records[0] !== undefined) {
    setAttribute(attributes, ATTR_MESSAGING_MESSAGE_ID, stringMember(event, records[0], 'messageId'));
  }
  setAttribute(attributes, ATTR_CLOUD_REGION, sharedStringMember(event, records, 'awsRegion').value);
  const linkCarriers: TraceCarrier[] = [];
  for (const record of records) {
    const carrier = sqsRecordCarrier(event, record);
    if (carrier !== undefined) linkCarriers.push(carrier);
  }
  return eventTrigger('sqs', FAAS_TRIGGER_VALUE_PUBSUB, SpanKind.CONSUMER, processSpanName(queue, arn.uniform, functionName), attributes, {
    linkCarriers,
  });
}

/** System attribute `AWSTraceHeader` (X-Ray format) and user message attributes named like trace headers. */
function sqsRecordCarrier(event: Buffer, record: JsonObjectView): TraceCarrier | undefined {
  const carrier: Partial<Record<TraceHeaderName, string[]>> = {};
  const attributes = objectMember(event, record, 'attributes');
  const awsTraceHeader = attributes === undefined ? undefined : stringMember(event, attributes, 'AWSTraceHeader');
  if (awsTraceHeader !== undefined) carrier['x-amzn-trace-id'] = [awsTraceHeader];
  addTraceMessageAttributes(event, carrier, objectMember(event, record, 'messageAttributes'), 'stringValue');
  return Object.keys(carrier).length > 0 ? carrier : undefined;
}
