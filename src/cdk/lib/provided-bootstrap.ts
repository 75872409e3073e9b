// OS-only runtimes (provided.al2023, provided.al2) ignore AWS_LAMBDA_EXEC_WRAPPER: Lambda
// runs the code's `bootstrap` directly, so the runtime would talk to the real
// Runtime API (aws/aws-lambda-go#523): nothing injected into its events, and spans
// made from Lambda's platform events alone, without the function's answers. The
// wrapper has to be in the bootstrap itself. This module builds such a
// bootstrap (a script that execs the wrapper with the user's executable, kept
// beside it as bootstrap.untraced) and checks, at synth time, the bootstrap a
// function really ships.

import { cpSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DockerImage, Stage } from 'aws-cdk-lib';
import { Code, type Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { TraceProxyConfigError } from './errors.ts';
import { WRAPPER_PATH } from './otlp-settings.ts';

/** What the user's own bootstrap is renamed to. */
export const UNTRACED_BOOTSTRAP = 'bootstrap.untraced';

/** The bootstrap Lambda runs: the wrapper points AWS_LAMBDA_RUNTIME_API at the proxy, then execs the real one, arguments unchanged. */
export const TRACED_BOOTSTRAP = `#!/bin/sh
# lambda-trace-proxy: OS-only runtimes ignore AWS_LAMBDA_EXEC_WRAPPER, so the
# wrapper runs here, then becomes the function's own bootstrap.
exec ${WRAPPER_PATH} "$LAMBDA_TASK_ROOT/${UNTRACED_BOOTSTRAP}" "$@"
`;

/** The same steps as shell commands, for a bundler that runs commands in its output directory. */
function wrapCommands(outputDir: string): string[] {
  const dir = JSON.stringify(outputDir);
  const lines = TRACED_BOOTSTRAP.trimEnd().split('\n').map((line) => `'${line.replaceAll("'", "'\\''")}'`).join(' ');
  return [
    `test -f ${dir}/bootstrap || { echo "lambda-trace-proxy: no bootstrap in ${outputDir.replaceAll('"', '')} to wrap" >&2; exit 1; }`,
    `mv ${dir}/bootstrap ${dir}/${UNTRACED_BOOTSTRAP}`,
    `printf '%s\\n' ${lines} > ${dir}/bootstrap`,
    `chmod 755 ${dir}/bootstrap`,
  ];
}

/** The interface of aws-cdk-lib's bundling command hooks (GoFunction, cargo-lambda-cdk's RustFunction), without depending on those packages. */
export interface BootstrapCommandHooks {
  beforeBundling(inputDir: string, outputDir: string): string[];
  afterBundling(inputDir: string, outputDir: string): string[];
}

export class TracedBootstrap {
  /**
   * For a construct that builds the bootstrap itself: `new GoFunction(this, 'Api',
   * { entry, bundling: { commandHooks: TracedBootstrap.commandHooks() } })`.
   * After the build, the bootstrap becomes bootstrap.untraced and a script that
   * runs it through the wrapper takes its place.
   */
  static commandHooks(): BootstrapCommandHooks {
    return {
      beforeBundling: () => [],
      afterBundling: (_inputDir, outputDir) => wrapCommands(outputDir),
    };
  }

  /**
   * A directory holding a built `bootstrap` (and whatever it needs), as the
   * code of a provided.al2023 or provided.al2 function, its bootstrap run through the wrapper.
   * The directory is left as it is; the copy is made at synth time, without Docker.
   */
  static fromDirectory(directory: string): Code {
    const source = path.resolve(directory);
    if (!existsSync(path.join(source, 'bootstrap'))) {
      throw new TraceProxyConfigError(`${source} has no bootstrap: give the directory your build writes the bootstrap executable to`);
    }
    return Code.fromAsset(source, {
      bundling: {
        // Used only if local bundling is turned off (the CLI's --no-staging does not; this always bundles locally).
        image: DockerImage.fromRegistry('public.ecr.aws/docker/library/busybox:stable'),
        command: ['sh', '-c', ['cp -a /asset-input/. /asset-output/', ...wrapCommands('/asset-output')].join(' && ')],
        local: {
          tryBundle(outputDir: string): boolean {
            cpSync(source, outputDir, { recursive: true, verbatimSymlinks: true });
            renameSync(path.join(outputDir, 'bootstrap'), path.join(outputDir, UNTRACED_BOOTSTRAP));
            writeFileSync(path.join(outputDir, 'bootstrap'), TRACED_BOOTSTRAP, { mode: 0o755 });
            return true;
          },
        },
      },
    });
  }
}

/** Whether a bootstrap's text runs the wrapper: a script that names it. A binary cannot. */
export function runsWrapper(bootstrap: Buffer): boolean {
  return bootstrap.subarray(0, 2).toString('latin1') === '#!' && bootstrap.includes(WRAPPER_PATH);
}

/**
 * Undefined when the function's code has a bootstrap that runs the wrapper;
 * else what is wrong, as the start of a sentence.
 */
export function bootstrapProblem(fn: LambdaFunction): string | undefined {
  const asset = fn.node.tryFindChild('Code');
  if (!(asset instanceof Asset)) return 'its code is not a local directory (an S3 object, an image, parameters), so its bootstrap cannot be checked';
  if (asset.isFile) return 'its code is a zip file, whose bootstrap this check does not open';
  const stage = Stage.of(fn);
  const bootstrap = path.resolve(stage?.outdir ?? '.', asset.assetPath, 'bootstrap');
  if (!existsSync(bootstrap)) return 'its code has no bootstrap';
  if (!runsWrapper(readFileSync(bootstrap))) return `its bootstrap does not run ${WRAPPER_PATH}`;
  return undefined;
}

/** The fix, for the error message. */
export const BOOTSTRAP_RECIPE =
  'build its code with TracedBootstrap.fromDirectory(\'<the directory of your bootstrap>\'), ' +
  'or give the construct that builds it (GoFunction, RustFunction) bundling: { commandHooks: TracedBootstrap.commandHooks() }, ' +
  `or make the bootstrap a script: #!/bin/sh + exec ${WRAPPER_PATH} "$LAMBDA_TASK_ROOT/<your executable>" "$@". ` +
  'If it runs the wrapper in a way this check cannot see, set checkProvidedBootstrap: false';
