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

// Amazon Linux 2 and older runtimes: the standalone layer's Node needs glibc
// 2.28 (AL2 has 2.26), and their own Node, when they have one, is too old for
// the slim layer. Every runtime since 2023 is on Amazon Linux 2023, so a
// runtime this rule does not know is taken to be.
const OLD_OS: Readonly<Record<RuntimeFamilyName, (version: readonly number[], name: string) => boolean>> = {
  nodejs: ([major = 0]) => major < 20,
  python: ([major = 0, minor = 0]) => major < 3 || (major === 3 && minor < 12),
  java: ([major = 0], name) => major < 21 && !name.endsWith('.al2023'),
  dotnet: ([major = 0], name) => name.startsWith('dotnetcore') || major < 8,
  ruby: ([major = 0, minor = 0]) => major < 3 || (major === 3 && minor < 3),
  go: () => true,
  other: (_version, name) => name !== 'provided.al2023' && !/^provided\.al20[2-9]\d$/.test(name),
};

const SUCCESSOR: Readonly<Record<RuntimeFamilyName, string>> = {
  nodejs: 'nodejs24.x', python: 'python3.13', java: 'java21', dotnet: 'dotnet8', ruby: 'ruby3.4', go: 'provided.al2023', other: 'provided.al2023',
};

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
    // An unresolved runtime name: the standalone layer runs on any AL2023 runtime.
    return family === 'other'
      ? { kind: 'bootstrap', layer: 'standalone', architecture }
      : { kind: 'wrapper', layer: 'standalone', architecture };
  }
  const version = versionOf(name);
  if (OLD_OS[family](version, name)) {
    return {
      kind: 'unsupported',
      reason: `its runtime ${name} runs on Amazon Linux 2 or older, whose glibc (2.26 or older) cannot run the Node.js the standalone layer brings (it needs 2.28), and its own Node, if any, is older than 22.15; ` +
        `move the function to an Amazon Linux 2023 runtime such as ${SUCCESSOR[family]}`,
    };
  }
  if (family === 'other') return { kind: 'bootstrap', layer: 'standalone', architecture };
  // nodejs20.x is on AL2023 but its Node (20) is older than the bundle needs: it takes the standalone layer.
  const layer: LayerKind = family === 'nodejs' && (version[0] ?? 0) >= MIN_NODE_MAJOR ? 'slim' : 'standalone';
  return { kind: 'wrapper', layer, architecture };
}
