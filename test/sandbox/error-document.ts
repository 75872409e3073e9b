/** The fields of a posted error document, `{"errorMessage", "errorType", …}`, read defensively. */
export interface ErrorDocument {
  readonly errorType: string | undefined;
  readonly errorMessage: string | undefined;
}

/** Anything that is not a JSON object with string fields yields undefined fields (clients differ, README §1). */
export function readErrorDocument(body: Buffer): ErrorDocument {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { errorType: undefined, errorMessage: undefined };
  }
  const fields: Record<string, unknown> = typeof parsed === 'object' && parsed !== null ? { ...parsed } : {};
  return { errorType: stringOrUndefined(fields['errorType']), errorMessage: stringOrUndefined(fields['errorMessage']) };
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
