// Where the three layers come from: the zips `make layer` writes, deployed as
// CDK assets, or layer versions already published (`make publish`). One layer
// construct per stack and zip, found again by id in the function's stack, so
// that a function never refers to a layer of another stack (a cross-stack
// export) and nothing is cached outside the construct tree.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Stack, Token } from 'aws-cdk-lib';
import { Architecture, Code, LayerVersion, type ILayerVersion } from 'aws-cdk-lib/aws-lambda';
import { TraceProxyConfigError } from './errors.ts';
import type { LambdaArchitecture, LayerKind } from './layer-choice.ts';

/** Layer version ARNs, as `make publish` prints them. */
export interface TraceProxyLayerArns {
  /** lambda-trace-proxy-x86_64: the standalone layer for x86_64 functions. */
  readonly x86_64?: string;
  /** lambda-trace-proxy-arm64: the standalone layer for arm64 functions. */
  readonly arm64?: string;
  /** lambda-trace-proxy-node: the slim layer for nodejs22.x and later, either architecture. Without it those functions take the standalone layer. */
  readonly node?: string;
}

type Zip = 'x86_64' | 'arm64' | 'node';

const ZIP_NAMES: Readonly<Record<Zip, string>> = {
  x86_64: 'lambda-trace-proxy-x86_64.zip',
  arm64: 'lambda-trace-proxy-arm64.zip',
  node: 'lambda-trace-proxy-node.zip',
};

const IDS: Readonly<Record<Zip, string>> = { x86_64: 'LambdaTraceProxyX8664', arm64: 'LambdaTraceProxyArm64', node: 'LambdaTraceProxyNode' };

const LAYER_VERSION_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$/;

export class TraceProxyLayers {
  /**
   * The zips of `make layer` in `directory` (the project's `dist/`), each
   * deployed once per stack as a layer version.
   */
  static fromBuild(directory: string): TraceProxyLayers {
    return new TraceProxyLayers({ from: 'build', directory: path.resolve(directory) });
  }

  /** Layer versions published already, e.g. by `make publish`; give those your functions need. */
  static fromArns(arns: TraceProxyLayerArns): TraceProxyLayers {
    const given = Object.entries(arns).filter((entry): entry is [string, string] => entry[1] !== undefined);
    if (given.length === 0) {
      throw new TraceProxyConfigError('fromArns() got no layer ARN: give x86_64, arm64 and/or node, the LayerVersionArn values make publish prints');
    }
    for (const [zip, arn] of given) {
      if (!Token.isUnresolved(arn) && !LAYER_VERSION_ARN.test(arn)) {
        throw new TraceProxyConfigError(`layer ARN ${zip} "${arn}" is not a layer version ARN: expected arn:aws:lambda:<region>:<account>:layer:<name>:<version> (make publish prints it)`);
      }
    }
    return new TraceProxyLayers({ from: 'arns', arns });
  }

  private readonly source: { readonly from: 'build'; readonly directory: string } | { readonly from: 'arns'; readonly arns: TraceProxyLayerArns };

  private constructor(source: TraceProxyLayers['source']) {
    this.source = source;
  }

  /** The layer for a function of `stack`; throws, saying what to pass, when this source has none. */
  layerFor(stack: Stack, kind: LayerKind, architecture: LambdaArchitecture, functionPath: string): ILayerVersion {
    const zip = this.zipFor(kind, architecture, functionPath);
    // Imported layers are named by their ARN too, so that two sources in one stack never share one.
    const id = this.source.from === 'arns' ? `${IDS[zip]}Imported${createHash('sha256').update(this.source.arns[zip] ?? '').digest('hex').slice(0, 8)}` : IDS[zip];
    const existing = stack.node.tryFindChild(id);
    // Only this class makes children with these ids.
    if (existing !== undefined) return existing as ILayerVersion;
    if (this.source.from === 'arns') {
      const arn = this.source.arns[zip] as string;
      const arnRegion = arn.split(':')[3];
      if (!Token.isUnresolved(arn) && !Token.isUnresolved(stack.region) && arnRegion !== stack.region) {
        throw new TraceProxyConfigError(`${functionPath} is in ${stack.region} but layer ${zip} ${arn} is in ${arnRegion}: Lambda takes layers of the function's region only; publish the layer there (make publish with AWS_REGION=${stack.region})`);
      }
      return LayerVersion.fromLayerVersionArn(stack, id, arn);
    }
    const file = path.join(this.source.directory, ZIP_NAMES[zip]);
    if (!existsSync(file)) {
      throw new TraceProxyConfigError(`${file} does not exist (wanted for ${functionPath}): run \`make layer\` in lambda-trace-proxy, which writes the three zips to its dist/, or use TraceProxyLayers.fromArns()`);
    }
    return new LayerVersion(stack, id, {
      code: Code.fromAsset(file),
      compatibleArchitectures: zip === 'node' ? [Architecture.X86_64, Architecture.ARM_64] : [zip === 'arm64' ? Architecture.ARM_64 : Architecture.X86_64],
      description: zip === 'node'
        ? 'lambda-trace-proxy for the function\'s own Node (nodejs22.x and later)'
        : `lambda-trace-proxy with its own Node (${zip})`,
      license: 'Apache-2.0',
    });
  }

  private zipFor(kind: LayerKind, architecture: LambdaArchitecture, functionPath: string): Zip {
    if (this.source.from === 'build') return kind === 'slim' ? 'node' : architecture;
    const { arns } = this.source;
    if (kind === 'slim' && arns.node !== undefined) return 'node';
    if (arns[architecture] !== undefined) return architecture;
    throw new TraceProxyConfigError(
      `${functionPath} (${architecture}) needs the ${kind === 'slim' ? 'slim layer (node) or the standalone' : 'standalone'} ${architecture} layer, ` +
      `and fromArns() got no ${architecture}${kind === 'slim' ? ' nor node' : ''} ARN: pass ${architecture}: '<LayerVersionArn of lambda-trace-proxy-${architecture}>' (make publish prints it)`,
    );
  }
}
