// An app with one function per kind of runtime the construct handles: Node.js
// (slim layer), Python on arm64 and Java (standalone layers, wrapper
// variable), and provided.al2023 (standalone layer, wrapper in the
// bootstrap). `cdk synth` of it is tested (test/example-app.test.ts), and
// cfn-lint checks what it makes.
//
//   cd src/cdk && npx cdk synth            (after `make layer` at the top)
//   LAYERS=/path/to/dist npx cdk synth     (zips elsewhere)

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Architecture, Code, Function, Runtime } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { LambdaTraceProxy, OtlpEndpoint, TracedBootstrap, TraceProxyLayers } from '../lib/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const functions = path.join(here, 'functions');

export class OrdersStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps & { readonly layersDirectory: string }) {
    super(scope, id, props);

    new Function(this, 'NodeOrders', {
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: Code.fromInline('exports.handler = async (event) => ({ statusCode: 200, body: JSON.stringify({ order: event.order }) });'),
      timeout: Duration.seconds(10),
    });

    new Function(this, 'PythonOrders', {
      runtime: Runtime.PYTHON_3_13,
      architecture: Architecture.ARM_64,
      handler: 'index.handler',
      code: Code.fromInline('import json\n\ndef handler(event, context):\n    return {"statusCode": 200, "body": json.dumps({"order": event.get("order")})}\n'),
      timeout: Duration.seconds(10),
    });

    // Compiled at synth time with the machine's javac (class files for Java 17 run on java21), else in Docker.
    new Function(this, 'JavaOrders', {
      runtime: Runtime.JAVA_21,
      handler: 'example.Handler::handleRequest',
      memorySize: 512,
      timeout: Duration.seconds(20),
      code: Code.fromAsset(path.join(functions, 'java'), {
        bundling: {
          image: Runtime.JAVA_21.bundlingImage,
          command: ['sh', '-c', 'javac --release 17 -d /asset-output src/main/java/example/Handler.java'],
          local: {
            tryBundle(outputDir: string): boolean {
              try {
                execFileSync('javac', ['--release', '17', '-d', outputDir, path.join(functions, 'java/src/main/java/example/Handler.java')]);
              } catch (error) {
                // No javac here: CDK then compiles in the java21 build image (Docker).
                if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
                throw error;
              }
              return true;
            },
          },
        },
      }),
    });

    // OS-only runtime: the wrapper goes into the bootstrap, not into AWS_LAMBDA_EXEC_WRAPPER.
    new Function(this, 'ShellOrders', {
      runtime: Runtime.PROVIDED_AL2023,
      handler: 'unused',
      code: TracedBootstrap.fromDirectory(path.join(functions, 'shell-runtime')),
      timeout: Duration.seconds(10),
    });

    const tracing = new LambdaTraceProxy(this, 'Tracing', {
      layers: TraceProxyLayers.fromBuild(props.layersDirectory),
      endpoint: OtlpEndpoint.xray(),
      compression: 'gzip',
      resourceAttributes: { 'deployment.environment.name': 'example' },
    });
    tracing.traceAll(this);
  }
}

const app = new App();
new OrdersStack(app, 'TraceProxyExample', {
  layersDirectory: process.env.LAYERS ?? path.resolve(here, '../../../dist'),
});
app.synth();
