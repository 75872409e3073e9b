// platform.report as OpenTelemetry metrics, named per the FaaS semantic
// conventions (faas.* metrics: durations in seconds, memory in bytes). One
// report is one invocation: each counter moves at most once for it, whatever
// number of signals said "out of memory".

import type { Counter, Histogram, Meter } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import {
  METRIC_FAAS_COLDSTARTS, METRIC_FAAS_ERRORS, METRIC_FAAS_INIT_DURATION, METRIC_FAAS_INVOCATIONS,
  METRIC_FAAS_INVOKE_DURATION, METRIC_FAAS_MEM_USAGE, METRIC_FAAS_TIMEOUTS,
} from '@opentelemetry/semantic-conventions/incubating';
import type { InvocationReport } from './platform-telemetry.ts';
import { OUT_OF_MEMORY_ERROR_TYPE } from './out-of-memory.ts';

/** Billed time has no semantic convention: ours, in seconds like faas.invoke_duration. */
export const METRIC_BILLED_DURATION = 'lambda_trace_proxy.billed_duration';

/** Lambda durations run from ~1 ms to 15 min. */
const SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];
const MIB = 1024 * 1024;
/** Lambda memory sizes run from 128 MB to 10,240 MB. */
const MEMORY_BUCKETS = [32, 64, 128, 256, 512, 1024, 2048, 4096, 10240].map((mb) => mb * MIB);

export class ReportMetrics {
  readonly #invocations: Counter;
  readonly #errors: Counter;
  readonly #timeouts: Counter;
  readonly #coldstarts: Counter;
  readonly #invokeDuration: Histogram;
  readonly #initDuration: Histogram;
  readonly #memUsage: Histogram;
  readonly #billedDuration: Histogram;

  constructor(meter: Meter) {
    this.#invocations = meter.createCounter(METRIC_FAAS_INVOCATIONS, { unit: '{invocation}', description: 'Invocations, from platform.report.' });
    this.#errors = meter.createCounter(METRIC_FAAS_ERRORS, { unit: '{error}', description: 'Invocations that did not succeed; error.type says why (Runtime.OutOfMemory for every out-of-memory).' });
    this.#timeouts = meter.createCounter(METRIC_FAAS_TIMEOUTS, { unit: '{timeout}', description: 'Invocations that timed out.' });
    this.#coldstarts = meter.createCounter(METRIC_FAAS_COLDSTARTS, { unit: '{coldstart}', description: 'Invocations that began with an Init.' });
    const seconds = { unit: 's', advice: { explicitBucketBoundaries: SECONDS_BUCKETS } };
    this.#invokeDuration = meter.createHistogram(METRIC_FAAS_INVOKE_DURATION, { ...seconds, description: 'Invocation duration as Lambda measured it (platform.report durationMs).' });
    this.#initDuration = meter.createHistogram(METRIC_FAAS_INIT_DURATION, { ...seconds, description: 'Init duration of cold starts (platform.report initDurationMs).' });
    this.#billedDuration = meter.createHistogram(METRIC_BILLED_DURATION, { ...seconds, description: 'Billed duration (platform.report billedDurationMs).' });
    this.#memUsage = meter.createHistogram(METRIC_FAAS_MEM_USAGE, { unit: 'By', advice: { explicitBucketBoundaries: MEMORY_BUCKETS }, description: 'Most memory the environment used during the invocation (platform.report maxMemoryUsedMB).' });
  }

  record(report: InvocationReport): void {
    const m = report.metrics;
    this.#invocations.add(1);
    if (m.durationMs !== undefined) this.#invokeDuration.record(m.durationMs / 1000);
    if (m.billedDurationMs !== undefined) this.#billedDuration.record(m.billedDurationMs / 1000);
    if (m.maxMemoryUsedMb !== undefined) this.#memUsage.record(m.maxMemoryUsedMb * MIB);
    if (m.initDurationMs !== undefined) {
      this.#coldstarts.add(1);
      this.#initDuration.record(m.initDurationMs / 1000);
    }
    if (report.outOfMemory !== undefined) {
      this.#errors.add(1, { [ATTR_ERROR_TYPE]: OUT_OF_MEMORY_ERROR_TYPE });
    } else if (report.status !== undefined && report.status !== 'success') {
      this.#errors.add(1, { [ATTR_ERROR_TYPE]: report.errorType ?? report.status });
    }
    if (report.status === 'timeout') this.#timeouts.add(1);
  }
}
