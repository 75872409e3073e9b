// The construct: given functions, or a scope whose functions it finds (as a
// CDK Aspect), it attaches the layer that fits each runtime and architecture,
// sets the wrapper and the OTLP settings, and grants X-Ray's write permission
// when exports are signed with the function's role.
//
// A function it cannot trace is never half-traced: a wrapper variable
// without the layer that holds the wrapper breaks every invocation
// (DataDog/datadog-cdk-constructs#314). Such a function fails synthesis with
// the reason and the fix; only container images, which take no layers at
// all, are left as they are, with a warning.

import { Annotations, Aspects, Stack, Token, type IAspect } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Function as LambdaFunction, RuntimeFamily, type ILayerVersion } from 'aws-cdk-lib/aws-lambda';
import { Construct, type IConstruct } from 'constructs';
import { TraceProxyConfigError } from './errors.ts';
import { chooseLayer, type LambdaArchitecture, type LayerKind, type RuntimeFamilyName } from './layer-choice.ts';
import type { TraceProxyLayers } from './layer-source.ts';
import { resolveSettings, WRAPPER_PATH, WRAPPER_VARIABLE, type OtlpSettings, type ResolvedSettings } from './otlp-settings.ts';
import { BOOTSTRAP_RECIPE, bootstrapProblem } from './provided-bootstrap.ts';

export interface LambdaTraceProxyProps extends OtlpSettings {
  /** Where the layers come from: `TraceProxyLayers.fromBuild('dist')` or `TraceProxyLayers.fromArns({...})`. */
  readonly layers: TraceProxyLayers;
  /**
   * Check, at synth time, that each provided.* function's bootstrap runs the
   * wrapper (OS-only runtimes ignore AWS_LAMBDA_EXEC_WRAPPER). False trusts a
   * bootstrap this check cannot read (code from S3, a zip file). @default true
   */
  readonly checkProvidedBootstrap?: boolean;
}

/** The IAM action X-Ray's OTLP traces endpoint authorizes (X-Ray developer guide, "Setting up bearer token authentication for traces"). */
export const XRAY_OTLP_ACTION = 'xray:PutTraceSegments';

const FAMILIES: ReadonlyMap<RuntimeFamily, RuntimeFamilyName> = new Map([
  [RuntimeFamily.NODEJS, 'nodejs'], [RuntimeFamily.PYTHON, 'python'], [RuntimeFamily.JAVA, 'java'],
  [RuntimeFamily.DOTNET_CORE, 'dotnet'], [RuntimeFamily.RUBY, 'ruby'], [RuntimeFamily.GO, 'go'], [RuntimeFamily.OTHER, 'other'],
]);

export class LambdaTraceProxy extends Construct implements IAspect {
  private readonly layers: TraceProxyLayers;
  private readonly settings: ResolvedSettings;
  private readonly checkProvidedBootstrap: boolean;
  /** Functions done already: the aspect and addFunctions may both reach one. */
  private readonly traced = new Set<LambdaFunction>();

  constructor(scope: Construct, id: string, props: LambdaTraceProxyProps) {
    super(scope, id);
    if (props.layers === undefined) {
      throw new TraceProxyConfigError('layers is missing: give TraceProxyLayers.fromBuild(\'<lambda-trace-proxy>/dist\') (after make layer) or TraceProxyLayers.fromArns({ x86_64, arm64, node })');
    }
    this.layers = props.layers;
    this.settings = resolveSettings(props);
    this.checkProvidedBootstrap = props.checkProvidedBootstrap ?? true;
  }

  /** Traces these functions. */
  addFunctions(...functions: LambdaFunction[]): void {
    for (const fn of functions) this.trace(fn);
  }

  /** Traces every function in `scope` (an app, a stage, a stack), those added later included: the check runs at synth time. */
  traceAll(scope: IConstruct): void {
    Aspects.of(scope).add(this);
  }

  /** @internal CDK calls it for every construct under a scope given to traceAll() or Aspects.of(scope).add(). */
  visit(node: IConstruct): void {
    if (node instanceof LambdaFunction) this.trace(node);
  }

  private trace(fn: LambdaFunction): void {
    if (this.traced.has(fn)) return;
    this.traced.add(fn);
    const where = fn.node.path;
    const runtime = fn.runtime;
    const choice = chooseLayer({
      name: Token.isUnresolved(runtime.name) ? undefined : runtime.name,
      family: runtime.family === undefined ? undefined : FAMILIES.get(runtime.family),
      isImage: runtime.name === 'FROM_IMAGE',
      architecture: fn.architecture.name as LambdaArchitecture,
    });

    if (choice.kind === 'image') {
      Annotations.of(fn).addWarningV2('lambda-trace-proxy:containerImage',
        `${where} is not traced: it is a container image, and Lambda takes no layers for images. ` +
        'To trace it, copy a layer zip\'s contents into the image\'s /opt (e.g. ADD the unzipped lambda-trace-proxy-x86_64.zip to /opt) ' +
        `and set ENV ${WRAPPER_VARIABLE}=${WRAPPER_PATH} in the Dockerfile, with the OTLP variables.`);
      return;
    }
    if (choice.kind === 'unsupported') {
      fail(fn, `${where} cannot be traced: ${choice.reason}.`);
      return;
    }
    if (choice.kind === 'bootstrap' && this.checkProvidedBootstrap) {
      const problem = bootstrapProblem(fn);
      if (problem !== undefined) {
        fail(fn, `${where} (${runtime.name}) would not be traced: OS-only runtimes ignore ${WRAPPER_VARIABLE}, ` +
          `so the bootstrap must run the wrapper, and ${problem}. Fix: ${BOOTSTRAP_RECIPE}.`);
        return;
      }
    }

    const layer = this.layerOrFailure(fn, choice.layer, choice.architecture);
    if (layer === undefined) return;
    fn.addLayers(layer);
    if (choice.kind === 'wrapper') fn.addEnvironment(WRAPPER_VARIABLE, WRAPPER_PATH);
    for (const [name, value] of Object.entries(this.settings.environment)) fn.addEnvironment(name, value);
    if (this.settings.signsWithRole) {
      if (fn.role === undefined) {
        Annotations.of(fn).addWarningV2('lambda-trace-proxy:noRole',
          `${where} has no role this app can change: grant it ${XRAY_OTLP_ACTION} yourself, or X-Ray will refuse its spans.`);
      } else {
        // X-Ray's write actions take no resource-level permissions: "*" is the only resource.
        fn.addToRolePolicy(new PolicyStatement({ actions: [XRAY_OTLP_ACTION], resources: ['*'] }));
      }
    }
  }

  /** The layer, or undefined once the function is marked to fail synthesis with the reason (a missing zip or ARN). */
  private layerOrFailure(fn: LambdaFunction, kind: LayerKind, architecture: LambdaArchitecture): ILayerVersion | undefined {
    try {
      return this.layers.layerFor(Stack.of(fn), kind, architecture, fn.node.path);
    } catch (error) {
      if (!(error instanceof TraceProxyConfigError)) throw error;
      fail(fn, error.message);
      return undefined;
    }
  }
}

/** Fails synthesis (cdk synth, App.synth) with this message on this function, with every other such error. */
function fail(fn: LambdaFunction, message: string): void {
  fn.node.addValidation({ validate: () => [message] });
}
