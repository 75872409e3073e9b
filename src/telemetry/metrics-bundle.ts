// What the metrics need, as one entry point: built into its own file
// (metrics.cjs, see Makefile), required only when the first platform.report
// arrives. Parsing the metrics SDK with the tracing bundle cost 0.8 MiB of
// idle RSS (test/bench/telemetry-footprint.ts).

export { createOtlpMetricExporter, MetricExport } from '../export/metric-export.ts';
export { ReportMetrics } from './report-metrics.ts';
