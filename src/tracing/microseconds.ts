// Durations on spans are whole microseconds. OTLP carries a number attribute as
// intValue or doubleValue, and the OpenTelemetry JS serializer picks one per value
// (Number.isInteger, opentelemetry-js#3436): durations in fractional milliseconds
// left as intValue when they happened to be whole (a hold of 0, an init of exactly
// 84 ms) and as doubleValue otherwise, and a backend that fixes an attribute's
// column type from its first value (Elasticsearch's dynamic mappings, say) then
// truncates or rejects the others. Whole microseconds are always intValue, and keep
// the precision the platform reports (its figures have three decimals of a ms) and
// all that the extension's own timer on a shared core can tell apart.

/** A duration in milliseconds as whole microseconds. */
export function microseconds(ms: number): number {
  return Math.round(ms * 1000);
}
