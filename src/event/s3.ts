// S3 notifications: a data source (faas.document.*), the object key decoded as S3 encodes it.

import { type Attributes, SpanKind } from '@opentelemetry/api';
import { ATTR_CLOUD_REGION, ATTR_FAAS_DOCUMENT_COLLECTION, ATTR_FAAS_DOCUMENT_NAME, ATTR_FAAS_DOCUMENT_OPERATION, ATTR_FAAS_DOCUMENT_TIME, ATTR_FAAS_TRIGGER, FAAS_DOCUMENT_OPERATION_VALUE_DELETE, FAAS_DOCUMENT_OPERATION_VALUE_EDIT, FAAS_DOCUMENT_OPERATION_VALUE_INSERT, FAAS_TRIGGER_VALUE_DATASOURCE } from '@opentelemetry/semantic-conventions/incubating';
import { type JsonObjectView, asJsonObject, asNonEmptyString } from './json-scan.ts';
import { commonValue, parsedMember, sharedStringMember, stringMember } from './members.ts';
import { type EventTriggerInfo, eventTrigger, setAttribute } from './trigger.ts';

/** What an S3 record is read for. */
export const S3_RECORD_SHAPE = { eventSource: true, eventName: true, eventTime: true, awsRegion: true, s3: true } as const;

export function s3Trigger(event: Buffer, records: readonly JsonObjectView[], functionName: string): EventTriggerInfo {
  const buckets: (string | undefined)[] = [];
  let key: string | undefined;
  for (const record of records) {
    const s3 = asJsonObject(parsedMember(event, record, 's3'));
    buckets.push(asNonEmptyString(asJsonObject(s3?.bucket)?.name));
    key = asNonEmptyString(asJsonObject(s3?.object)?.key);
  }
  const attributes: Attributes = { [ATTR_FAAS_TRIGGER]: FAAS_TRIGGER_VALUE_DATASOURCE };
  setAttribute(attributes, ATTR_FAAS_DOCUMENT_COLLECTION, commonValue(buckets));
  setAttribute(attributes, ATTR_FAAS_DOCUMENT_OPERATION, s3DocumentOperation(sharedStringMember(event, records, 'eventName').value));
  const first = records[0];
  if (records.length === 1 && first !== undefined) {
    setAttribute(attributes, ATTR_FAAS_DOCUMENT_NAME, key === undefined ? undefined : decodeS3Key(key));
    setAttribute(attributes, ATTR_FAAS_DOCUMENT_TIME, stringMember(event, first, 'eventTime'));
  }
  setAttribute(attributes, ATTR_CLOUD_REGION, sharedStringMember(event, records, 'awsRegion').value);
  return eventTrigger('s3', FAAS_TRIGGER_VALUE_DATASOURCE, SpanKind.CONSUMER, functionName, attributes);
}

/** `ObjectCreated:Put` → insert; removals and lifecycle expiry → delete; tag/ACL changes → edit. */
function s3DocumentOperation(eventName: string | undefined): string | undefined {
  const category = eventName?.split(':')[0];
  switch (category) {
    case 'ObjectCreated':
      return FAAS_DOCUMENT_OPERATION_VALUE_INSERT;
    case 'ObjectRemoved':
    case 'LifecycleExpiration':
      return FAAS_DOCUMENT_OPERATION_VALUE_DELETE;
    case 'ObjectTagging':
    case 'ObjectAcl':
      return FAAS_DOCUMENT_OPERATION_VALUE_EDIT;
    default:
      return undefined;
  }
}

/** S3 event keys are form-encoded (`+` for space, UTF-8 percent escapes); a bad escape keeps the raw key. */
function decodeS3Key(key: string): string {
  try {
    return decodeURIComponent(key.replaceAll('+', ' '));
  } catch {
    return key;
  }
}
