// Kinesis Data Streams batches: messaging attributes, `<stream> process`. `data` is opaque base64: never read.

import { SpanKind } from '@opentelemetry/api';
import { ATTR_CLOUD_REGION, ATTR_MESSAGING_MESSAGE_ID, FAAS_TRIGGER_VALUE_PUBSUB } from '@opentelemetry/semantic-conventions/incubating';
import { type JsonObjectView } from './json-scan.ts';
import { arnResourceAfter, sharedStringMember, stringMember } from './members.ts';
import { type EventTriggerInfo, eventTrigger, messagingAttributes, processSpanName, setAttribute } from './trigger.ts';

/** What a Kinesis record is read for. */
export const KINESIS_RECORD_SHAPE = { eventSource: true, eventSourceARN: true, eventID: true, awsRegion: true } as const;

/** Semconv defines no `messaging.system` value for these; we follow the `aws_sqs` spelling. */
const MESSAGING_SYSTEM_AWS_KINESIS = 'aws_kinesis';

export function kinesisTrigger(event: Buffer, records: readonly JsonObjectView[], functionName: string): EventTriggerInfo {
  const arn = sharedStringMember(event, records, 'eventSourceARN');
  const stream = arnResourceAfter(arn.value, 'stream/');
  const attributes = messagingAttributes(MESSAGING_SYSTEM_AWS_KINESIS, stream, records.length);
  if (records.length === 1 && records[0] !== undefined) {
    setAttribute(attributes, ATTR_MESSAGING_MESSAGE_ID, stringMember(event, records[0], 'eventID'));
  }
  setAttribute(attributes, ATTR_CLOUD_REGION, sharedStringMember(event, records, 'awsRegion').value);
  return eventTrigger('kinesis', FAAS_TRIGGER_VALUE_PUBSUB, SpanKind.CONSUMER, processSpanName(stream, arn.uniform, functionName), attributes);
}
