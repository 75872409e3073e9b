/**
 * Node keeps headers as a flat raw list `[name, value, name, value, …]` with
 * the case and order the peer sent. Header names compare case-insensitively.
 */
export function rawHeader(raw: readonly string[], name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === wanted) return raw[i + 1];
  }
  return undefined;
}

/** `raw` with every `name` header replaced by `value` (appended when absent). */
export function withRawHeader(raw: readonly string[], name: string, value: string): string[] {
  const wanted = name.toLowerCase();
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i] ?? '';
    if (key.toLowerCase() !== wanted) out.push(key, raw[i + 1] ?? '');
  }
  out.push(name, value);
  return out;
}
