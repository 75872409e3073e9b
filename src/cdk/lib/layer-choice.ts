// Which of the three layers a function takes, from its runtime and
// architecture alone: a pure decision, so that every rule is tested without
// a CDK app. Rules by runtime family and version, not a table of runtime
// names: a table misses every runtime released after it (Datadog's construct
// dropped python3.12, nodejs22.x and dotnet10 functions until a release
// added each one: DataDog/datadog-cdk-constructs#243, #341, #528).

/** `slim`: lambda-trace-proxy-node.zip, run by the runtime's own Node; `standalone`: the zip of that architecture, with its own Node. */
export type LayerKind = 'slim' | 'standalone';
export type LambdaArchitecture = 'x86_64' | 'arm64';

export interface RuntimeFacts {
  /** Lambda's runtime identifier (`nodejs24.x`), or undefined when it is an unresolved token. */
  readonly name: string | undefined;
  /** aws-cdk-lib's family, as a name; undefined for a `new Runtime(name)` made without one (then read from the name). */
  readonly family: RuntimeFamilyName | undefined;
  /** Runtime.FROM_IMAGE: a container image function. */
  readonly isImage: boolean;
  readonly architecture: LambdaArchitecture;
}

export type RuntimeFamilyName = 'nodejs' | 'python' | 'java' | 'dotnet' | 'ruby' | 'go' | 'other';

export type LayerChoice =
  /** Attach this layer and set the wrapper variable (managed runtimes). */
  | { readonly kind: 'wrapper'; readonly layer: LayerKind; readonly architecture: LambdaArchitecture }
  /** OS-only runtime: attach the layer; its bootstrap must run the wrapper (Lambda ignores AWS_LAMBDA_EXEC_WRAPPER there). */
  | { readonly kind: 'bootstrap'; readonly layer: LayerKind; readonly architecture: LambdaArchitecture }
  /** Container image: Lambda takes no layers there. */
  | { readonly kind: 'image' }
  /** Cannot run the extension; `reason` says why and what to do. */
  | { readonly kind: 'unsupported'; readonly reason: string };

/** The oldest Node the extension runs on (package.json "engines" of the extension, and src/launcher.sh's MIN_NODE). */
export const MIN_NODE_MAJOR = 22;

// Which runtimes are refused, and why. The standalone layer's Node needs
// glibc 2.17 and GLIBCXX_3.4.19 (test/layer/runs-on-amazon-linux-2.test.ts),
// so it runs on every Amazon Linux 2 (glibc 2.26) and 2023 runtime; what is
// left out is decided by what Lambda still lets you do, not by glibc:
// - `no-updates`: deprecated runtimes Lambda has refused both creating and
//   updating functions on since 2019-2023 (nodejs10.x, nodejs12.x,
//   dotnetcore3.1, and the Amazon Linux 1 ones before them): adding a layer
//   is an update, so the deploy would fail.
// - `amazon-linux-1`: python3.7, java8, go1.x and provided, on Amazon Linux 1
//   (glibc 2.17 too), which Lambda stopped taking new functions on in early
//   2024. Its managed runtimes predate AWS_LAMBDA_EXEC_WRAPPER and never run
//   the wrapper (aws-samples/aws-lambda-extensions#71: wrapper scripts start
//   with python3.8); go1.x calls the handler over RPC (aws-lambda-go's
//   _LAMBDA_SERVER_PORT), never through the Runtime API; provided could take
//   the bootstrap recipe, but nothing here runs the layer on Amazon Linux 1,
//   and provided.al2023 runs the same bootstrap.
// Versions only ever leave Lambda, so a runtime these rules do not know (one
// newer than this construct) is taken to run the layer.
/** provided.al2, provided.al2023 and any later provided.al20xx. */
const OS_ONLY = /^provided\.al2(?:0\d\d)?$/;

type Refusal = 'no-updates' | 'amazon-linux-1' | 'unknown-os-only';

const REFUSED: Readonly<Record<RuntimeFamilyName, (version: readonly number[], name: string) => Refusal | undefined>> = {
  // nodejs (0.10) to nodejs8.10 on Amazon Linux 1, nodejs10.x and 12.x on AL2: all blocked. nodejs14.x and later can be updated.
  nodejs: ([major = 0]) => (major < 14 ? 'no-updates' : undefined),
  python: ([major = 0, minor = 0]) => (major < 3 || (major === 3 && minor < 7) ? 'no-updates' : major === 3 && minor === 7 ? 'amazon-linux-1' : undefined),
  // java8 (Amazon Linux 1) is the one Java runtime whose name has no OS and is older than java11; java8.al2 and java8.al2023 run the layer.
  java: (_version, name) => (name === 'java8' ? 'amazon-linux-1' : undefined),
  dotnet: (_version, name) => (name.startsWith('dotnetcore') ? 'no-updates' : undefined),
  ruby: ([major = 0, minor = 0]) => (major < 2 || (major === 2 && minor < 7) ? 'no-updates' : undefined),
  go: () => 'amazon-linux-1',
  other: (_version, name) => (name === 'provided' ? 'amazon-linux-1' : OS_ONLY.test(name) ? undefined : 'unknown-os-only'),
};

const NEWEST: Readonly<Record<RuntimeFamilyName, string>> = {
  nodejs: 'nodejs24.x', python: 'python3.13', java: 'java21', dotnet: 'dotnet10', ruby: 'ruby3.4', go: 'provided.al2023', other: 'provided.al2023',
};

/** Where to move: Java 8 to 17 have AL2023 runtimes of the same Java (java8.al2023), the least change; others their family's newest. */
function successor(family: RuntimeFamilyName, [major = 0]: readonly number[]): string {
  return family === 'java' && major < 21 ? `java${major}.al2023` : NEWEST[family];
}

function refusalReason(refusal: Refusal, family: RuntimeFamilyName, version: readonly number[], name: string): string {
  const moveTo = `move the function to a supported runtime such as ${successor(family, version)}`;
  switch (refusal) {
    case 'no-updates':
      return `its runtime ${name} is deprecated and Lambda no longer lets you create or update functions on it, so the layer could never be deployed to it; ${moveTo}`;
    case 'unknown-os-only':
      return `its runtime ${name} is not an OS-only runtime this construct knows (provided.al2023, provided.al2); use one of those, ` +
        'or a Runtime of the language\'s family, e.g. new Runtime(name, RuntimeFamily.PYTHON)';
    case 'amazon-linux-1':
      if (family === 'go') {
        return `its runtime ${name} calls your handler over RPC from Lambda's own Go runtime, not through the Runtime API the extension proxies, ` +
          'and Lambda no longer lets you create functions on it; move the function to provided.al2023 (build with -tags lambda.norpc, ' +
          'name the executable bootstrap) and build its code with TracedBootstrap.fromDirectory(<directory of the bootstrap>)';
      }
      if (family === 'other') {
        return `its runtime ${name} runs on Amazon Linux 1, which Lambda no longer lets you create functions on and this layer is not tested on; ` +
          'move the function to provided.al2023, which runs the same bootstrap, and build its code with TracedBootstrap.fromDirectory(<directory of the bootstrap>)';
      }
      return `its runtime ${name} runs on Amazon Linux 1, whose runtimes do not run AWS_LAMBDA_EXEC_WRAPPER, and Lambda no longer lets you create functions on it; ${moveTo}`;
  }
}

function versionOf(name: string): number[] {
  const digits = /(\d+)(?:\.(\d+))?/.exec(name);
  return digits === null ? [] : [Number(digits[1]), Number(digits[2] ?? 0)];
}

const FAMILY_PREFIXES: readonly (readonly [string, RuntimeFamilyName])[] = [
  ['nodejs', 'nodejs'], ['python', 'python'], ['java', 'java'], ['dotnet', 'dotnet'], ['ruby', 'ruby'], ['go', 'go'], ['provided', 'other'],
];

export function chooseLayer(runtime: RuntimeFacts): LayerChoice {
  const { name, architecture } = runtime;
  if (runtime.isImage) return { kind: 'image' };
  const family = runtime.family ?? FAMILY_PREFIXES.find(([prefix]) => name?.startsWith(prefix) === true)?.[1];
  if (family === undefined) {
    return {
      kind: 'unsupported',
      reason: `its runtime ${name ?? '(a token)'} is of no family this construct knows (nodejs, python, java, dotnet, ruby, provided); ` +
        'give the function a Runtime with its RuntimeFamily, e.g. new Runtime(name, RuntimeFamily.PYTHON)',
    };
  }
  if (name === undefined) {
    // An unresolved runtime name: the standalone layer runs on any Amazon Linux 2 or 2023 runtime.
    return family === 'other'
      ? { kind: 'bootstrap', layer: 'standalone', architecture }
      : { kind: 'wrapper', layer: 'standalone', architecture };
  }
  const version = versionOf(name);
  const refusal = REFUSED[family](version, name);
  if (refusal !== undefined) return { kind: 'unsupported', reason: refusalReason(refusal, family, version, name) };
  if (family === 'other') return { kind: 'bootstrap', layer: 'standalone', architecture };
  // nodejs14.x to nodejs20.x bring a Node older than the bundles need (22.15): they take the standalone layer.
  const layer: LayerKind = family === 'nodejs' && (version[0] ?? 0) >= MIN_NODE_MAJOR ? 'slim' : 'standalone';
  return { kind: 'wrapper', layer, architecture };
}
