export { LambdaTraceProxy, XRAY_OTLP_ACTION, type LambdaTraceProxyProps } from './lambda-trace-proxy.ts';
export { TraceProxyLayers, type TraceProxyLayerArns } from './layer-source.ts';
export {
  OtlpEndpoint, WRAPPER_PATH, WRAPPER_VARIABLE,
  type OtlpSettings, type OtlpProtocol, type OtlpCompression, type TraceSampler, type TraceProxyLogLevel,
} from './otlp-settings.ts';
export { TracedBootstrap, type BootstrapCommandHooks } from './provided-bootstrap.ts';
export { TraceProxyConfigError } from './errors.ts';
