// DynamoDB Streams batches: a data source (faas.document.*) read as messages from a stream.

import { type Attributes, SpanKind } from '@opentelemetry/api';
import { ATTR_CLOUD_REGION, ATTR_FAAS_DOCUMENT_COLLECTION, ATTR_FAAS_DOCUMENT_OPERATION, ATTR_FAAS_TRIGGER, ATTR_MESSAGING_MESSAGE_ID, FAAS_DOCUMENT_OPERATION_VALUE_DELETE, FAAS_DOCUMENT_OPERATION_VALUE_EDIT, FAAS_DOCUMENT_OPERATION_VALUE_INSERT, FAAS_TRIGGER_VALUE_DATASOURCE } from '@opentelemetry/semantic-conventions/incubating';
import { type JsonObjectView } from './json-scan.ts';
import { arnResourceAfter, sharedStringMember, stringMember } from './members.ts';
import { type EventTriggerInfo, eventTrigger, messagingAttributes, processSpanName, setAttribute } from './trigger.ts';

/** What a DynamoDB Streams record is read for. */
export const DYNAMODB_RECORD_SHAPE = { eventSource: true, eventSourceARN: true, eventName: true, eventID: true, awsRegion: true } as const;

const MESSAGING_SYSTEM_AWS_DYNAMODB_STREAMS = 'aws_dynamodb_streams';

/**
 * A stream of table changes: a data source (faas.document.*) read as messages, so it also gets the
 * messaging attributes of a batch consumed from a stream, as Kinesis does.
 */
export function dynamoDbTrigger(event: Buffer, records: readonly JsonObjectView[], functionName: string): EventTriggerInfo {
  // arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
  const arn = sharedStringMember(event, records, 'eventSourceARN');
  const table = arnResourceAfter(arn.value, 'table/');
  const attributes: Attributes = {
    ...messagingAttributes(MESSAGING_SYSTEM_AWS_DYNAMODB_STREAMS, table, records.length),
    [ATTR_FAAS_TRIGGER]: FAAS_TRIGGER_VALUE_DATASOURCE,
  };
  if (records.length === 1 && records[0] !== undefined) {
    setAttribute(attributes, ATTR_MESSAGING_MESSAGE_ID, stringMember(event, records[0], 'eventID'));
  }
  setAttribute(attributes, ATTR_FAAS_DOCUMENT_COLLECTION, table);
  const eventName = sharedStringMember(event, records, 'eventName').value;
  setAttribute(attributes, ATTR_FAAS_DOCUMENT_OPERATION, eventName === undefined ? undefined : DYNAMODB_DOCUMENT_OPERATIONS.get(eventName));
  setAttribute(attributes, ATTR_CLOUD_REGION, sharedStringMember(event, records, 'awsRegion').value);
  return eventTrigger('dynamodb', FAAS_TRIGGER_VALUE_DATASOURCE, SpanKind.CONSUMER, processSpanName(table, arn.uniform, functionName), attributes);
}

const DYNAMODB_DOCUMENT_OPERATIONS: ReadonlyMap<string, string> = new Map([
  ['INSERT', FAAS_DOCUMENT_OPERATION_VALUE_INSERT],
  ['MODIFY', FAAS_DOCUMENT_OPERATION_VALUE_EDIT],
  ['REMOVE', FAAS_DOCUMENT_OPERATION_VALUE_DELETE],
]);
