// The Telemetry API, started: listener up, then the subscription. Called from
// the tracing bundle, after `register` (the Telemetry API needs our extension
// id, and nothing here may slow the cold start's path to registration). If the
// API is absent (RIE answers 202) or refuses us, tracing goes on without
// platform facts: nothing ever waits for them.

import type { Logger } from '../log.ts';
import { describeError } from '../errors.ts';
import type { CoreConfig } from '../settings/core-config.ts';
import type { TelemetrySockets } from '../settings/launcher-handover.ts';
import { PlatformTelemetry } from './platform-telemetry.ts';
import { subscribeTelemetry, TelemetryListener } from './telemetry-api.ts';

export interface StartedTelemetry {
  readonly platform: PlatformTelemetry;
  close(): void;
}

export async function startPlatformTelemetry(
  config: CoreConfig, extensionId: string, runtimeDoneWaitMs: number, sockets: TelemetrySockets | undefined, log: Logger,
): Promise<StartedTelemetry> {
  const platform = new PlatformTelemetry({ log, runtimeDoneWaitMs });
  const listener = new TelemetryListener((events) => platform.ingest(events), log, { sockets });
  try {
    const port = await listener.listen();
    const outcome = await subscribeTelemetry(config.extensionsApi, extensionId, port, config.managedInstances, log);
    platform.setSubscribed(outcome === 'subscribed');
    if (outcome !== 'subscribed') listener.close();
    else log.debug('subscribed to the Telemetry API', { code: 'LRAP_TELEMETRY_SUBSCRIBED', port });
  } catch (err) {
    listener.close();
    log.warn('could not subscribe to the Telemetry API; spans go without platform facts', { code: 'LRAP_TELEMETRY_UNAVAILABLE', error: describeError(err) });
  }
  return { platform, close: () => listener.close() };
}
