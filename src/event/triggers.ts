// Which service invoked the function, told from the event bytes alone. One module per source
// (apigw-rest, apigw-http, alb, sqs, sns, s3, dynamodb, kinesis, eventbridge, cloudwatch-logs) says
// what it reads (its shape) and how it classifies; this one puts their shapes together into the one
// scan of the event (view.ts) and dispatches to them. Adding a trigger: a module in this folder, its
// shape below, its case in the dispatch.
//
// Cost: events reach 6 MB. The json-scan module locates members without building the document;
// only small members (request context, header maps, SQS attributes) are parsed, so a 6 MB `body` is
// skipped with `indexOf`, never decoded. Nothing is re-serialised. Never throws: anything
// unexpected yields the "other" trigger.

import { asJsonObject, asNonEmptyString, compileShape, findMember, mergeShapeSpecs, readRootObject, type JsonMember, type JsonObjectView } from './json-scan.ts';
import { ALB_SHAPE, albFacts } from './alb.ts';
import { APIGW_HTTP_SHAPE, payloadV2Facts } from './apigw-http.ts';
import { APIGW_REST_SHAPE, payloadV1Facts } from './apigw-rest.ts';
import { CLOUDWATCH_LOGS_SHAPE, cloudWatchLogsTrigger } from './cloudwatch-logs.ts';
import { DYNAMODB_RECORD_SHAPE, dynamoDbTrigger } from './dynamodb.ts';
import { EVENTBRIDGE_SHAPE, classifyEventBridge } from './eventbridge.ts';
import { HTTP_SHAPE, httpTrigger, indexHeaders } from './http-request.ts';
import { KINESIS_RECORD_SHAPE, kinesisTrigger } from './kinesis.ts';
import { parsedMember, stringMember } from './members.ts';
import { S3_RECORD_SHAPE, s3Trigger } from './s3.ts';
import { SNS_RECORD_SHAPE, snsTrigger } from './sns.ts';
import { SQS_RECORD_SHAPE, sqsTrigger } from './sqs.ts';
import { otherTrigger, type TriggerInfo } from './trigger.ts';

export type {
  EventTriggerInfo, EventTriggerSource, FaasTrigger, HttpTriggerInfo, HttpTriggerSource, TraceCarrier, TraceHeaderName, TriggerInfo,
} from './trigger.ts';
export { TRACE_HEADER_NAMES, traceCarrierGetter } from './trigger.ts';

/**
 * Every member of an event a source reads, and nothing else: the scan keeps only these, and reads
 * each record's nested members in the same pass, so a batch of thousands of records is scanned once.
 */
export const EVENT_SHAPE = compileShape(mergeShapeSpecs(
  { Records: [mergeShapeSpecs(SQS_RECORD_SHAPE, SNS_RECORD_SHAPE, S3_RECORD_SHAPE, DYNAMODB_RECORD_SHAPE, KINESIS_RECORD_SHAPE)] },
  CLOUDWATCH_LOGS_SHAPE, HTTP_SHAPE, APIGW_REST_SHAPE, APIGW_HTTP_SHAPE, ALB_SHAPE, EVENTBRIDGE_SHAPE,
));

/** Classifies a whole event; `functionName` names the span when the trigger gives nothing better. */
export function classifyTrigger(event: Buffer, functionName: string): TriggerInfo {
  // Non-JSON, arrays and scalars are direct invocations: readRootObject refuses them at byte 0.
  return classifyRoot(event, readRootObject(event, EVENT_SHAPE), functionName);
}

/** Classifies an event from its root object as read with EVENT_SHAPE (undefined: not a JSON object). */
export function classifyRoot(event: Buffer, root: JsonObjectView | undefined, functionName: string): TriggerInfo {
  try {
    return (root && classifyJsonEvent(event, root, functionName)) ?? otherTrigger(functionName);
  } catch {
    // A fault here must not cost the invocation: an unclassified span is still a span.
    return otherTrigger(functionName);
  }
}

function classifyJsonEvent(event: Buffer, root: JsonObjectView, functionName: string): TriggerInfo | undefined {
  const records = findMember(event, root, 'Records');
  if (records !== undefined) return classifyRecords(event, records, functionName);
  if (findMember(event, root, 'awslogs') !== undefined) return cloudWatchLogsTrigger(functionName);
  if (findMember(event, root, 'requestContext') !== undefined) return classifyHttpRequest(event, root, functionName);
  if (findMember(event, root, 'detail-type') !== undefined) return classifyEventBridge(event, root, functionName);
  return undefined;
}

function classifyHttpRequest(event: Buffer, root: JsonObjectView, functionName: string): TriggerInfo | undefined {
  // Lambda authorizers get API Gateway-shaped requests but answer with a policy, not an HTTP response.
  if (findMember(event, root, 'methodArn') !== undefined) return undefined;
  const requestContext = asJsonObject(parsedMember(event, root, 'requestContext'));
  if (requestContext === undefined) return undefined;
  const headers = indexHeaders(parsedMember(event, root, 'headers'), parsedMember(event, root, 'multiValueHeaders'));
  if (asJsonObject(requestContext.elb) !== undefined) {
    return httpTrigger('alb', albFacts(event, root, headers), functionName);
  }
  const http = asJsonObject(requestContext.http);
  if (http !== undefined) {
    // Payload 2.0 is shared by HTTP APIs and function URLs; only the domain tells them apart.
    const domainName = asNonEmptyString(requestContext.domainName);
    const source = domainName?.includes('.lambda-url.') ? 'function-url' : 'api-gateway-http';
    return httpTrigger(source, payloadV2Facts(event, root, requestContext, http, headers), functionName);
  }
  if (stringMember(event, root, 'httpMethod') !== undefined) {
    return httpTrigger('api-gateway-rest', payloadV1Facts(event, root, requestContext, headers), functionName);
  }
  return undefined;
}

/** Records of one event come from one service; the first record's `eventSource` says which. */
function classifyRecords(event: Buffer, recordsMember: JsonMember, functionName: string): TriggerInfo | undefined {
  // EVENT_SHAPE read Records as an array of objects; no elements means it was something else.
  const records = recordsMember.elements;
  const first = records?.[0];
  if (records === undefined || first === undefined) return undefined;
  // SNS spells it `EventSource`.
  switch (stringMember(event, first, 'eventSource') ?? stringMember(event, first, 'EventSource')) {
    case 'aws:sqs':
      return sqsTrigger(event, records, functionName);
    case 'aws:sns':
      return snsTrigger(event, records, functionName);
    case 'aws:s3':
      return s3Trigger(event, records, functionName);
    case 'aws:dynamodb':
      return dynamoDbTrigger(event, records, functionName);
    case 'aws:kinesis':
      return kinesisTrigger(event, records, functionName);
    default:
      return undefined;
  }
}
