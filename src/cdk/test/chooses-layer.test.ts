// Which layer each runtime gets, decided from the runtime and architecture alone.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseLayer, type LambdaArchitecture, type RuntimeFamilyName } from '../lib/layer-choice.ts';

const choose = (name: string | undefined, family: RuntimeFamilyName | undefined, architecture: LambdaArchitecture = 'x86_64') =>
  chooseLayer({ name, family, architecture, isImage: false });

test('nodejs22.x, nodejs24.x and later Node runtimes take the slim layer, on either architecture', () => {
  for (const name of ['nodejs22.x', 'nodejs24.x', 'nodejs26.x']) {
    for (const architecture of ['x86_64', 'arm64'] as const) {
      assert.deepEqual(choose(name, 'nodejs', architecture), { kind: 'wrapper', layer: 'slim', architecture }, name);
    }
  }
});

test('Node.js runtimes older than 22 (nodejs14.x to nodejs20.x) take the standalone layer: their Node is older than 22.15', () => {
  for (const name of ['nodejs14.x', 'nodejs16.x', 'nodejs18.x', 'nodejs20.x']) {
    for (const architecture of ['x86_64', 'arm64'] as const) {
      assert.deepEqual(choose(name, 'nodejs', architecture), { kind: 'wrapper', layer: 'standalone', architecture }, name);
    }
  }
});

test('Amazon Linux 2023 runtimes of other families take the standalone layer of their architecture', () => {
  const runtimes: [string, RuntimeFamilyName][] = [
    ['python3.12', 'python'], ['python3.14', 'python'], ['java21', 'java'], ['java25', 'java'], ['java8.al2023', 'java'], ['java17.al2023', 'java'],
    ['dotnet8', 'dotnet'], ['dotnet10', 'dotnet'], ['ruby3.3', 'ruby'], ['ruby4.0', 'ruby'],
  ];
  for (const [name, family] of runtimes) {
    assert.deepEqual(choose(name, family, 'arm64'), { kind: 'wrapper', layer: 'standalone', architecture: 'arm64' }, name);
  }
});

test('Amazon Linux 2 runtimes take the standalone layer of their architecture too: its Node needs glibc 2.17, AL2 has 2.26', () => {
  const runtimes: [string, RuntimeFamilyName][] = [
    ['java8.al2', 'java'], ['java11', 'java'], ['java17', 'java'], ['python3.8', 'python'], ['python3.9', 'python'],
    ['python3.10', 'python'], ['python3.11', 'python'], ['dotnet6', 'dotnet'], ['ruby2.7', 'ruby'], ['ruby3.2', 'ruby'],
  ];
  for (const [name, family] of runtimes) {
    for (const architecture of ['x86_64', 'arm64'] as const) {
      assert.deepEqual(choose(name, family, architecture), { kind: 'wrapper', layer: 'standalone', architecture }, `${name} ${architecture}`);
    }
  }
});

test('provided.al2023 and provided.al2 take the standalone layer and need the wrapper in their bootstrap', () => {
  for (const name of ['provided.al2023', 'provided.al2']) {
    for (const architecture of ['x86_64', 'arm64'] as const) {
      assert.deepEqual(choose(name, 'other', architecture), { kind: 'bootstrap', layer: 'standalone', architecture }, `${name} ${architecture}`);
    }
  }
});

/** The reason a runtime is refused, asserted to be one. */
function refusal(name: string, family: RuntimeFamilyName | undefined): string {
  const choice = choose(name, family);
  assert.equal(choice.kind, 'unsupported', name);
  return choice.kind === 'unsupported' ? choice.reason : '';
}

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('runtimes Lambda no longer lets anyone update fail: adding the layer could not be deployed; the reason names a runtime to move to', () => {
  const runtimes: [string, RuntimeFamilyName, string][] = [
    ['nodejs12.x', 'nodejs', 'nodejs24.x'], ['nodejs10.x', 'nodejs', 'nodejs24.x'], ['nodejs8.10', 'nodejs', 'nodejs24.x'], ['nodejs', 'nodejs', 'nodejs24.x'],
    ['python2.7', 'python', 'python3.13'], ['python3.6', 'python', 'python3.13'], ['dotnetcore3.1', 'dotnet', 'dotnet10'], ['dotnetcore2.1', 'dotnet', 'dotnet10'],
    ['ruby2.5', 'ruby', 'ruby3.4'],
  ];
  for (const [name, family, successor] of runtimes) {
    assert.match(refusal(name, family),
      new RegExp(`^its runtime ${escaped(name)} is deprecated and Lambda no longer lets you create or update functions on it, .*move the function to a supported runtime such as ${escaped(successor)}$`), name);
  }
});

test('python3.7 and java8 fail: they run on Amazon Linux 1, whose runtimes never run AWS_LAMBDA_EXEC_WRAPPER', () => {
  for (const [name, family, successor] of [['python3.7', 'python', 'python3.13'], ['java8', 'java', 'java8.al2023']] as const) {
    assert.match(refusal(name, family),
      new RegExp(`^its runtime ${escaped(name)} runs on Amazon Linux 1, whose runtimes do not run AWS_LAMBDA_EXEC_WRAPPER, .*move the function to a supported runtime such as ${escaped(successor)}$`), name);
  }
});

test('go1.x fails: Lambda runs its handler through an RPC shim, not the Runtime API; the reason says how to move to provided.al2023', () => {
  assert.match(refusal('go1.x', 'go'),
    /^its runtime go1\.x calls your handler over RPC .*not through the Runtime API the extension proxies.* move the function to provided\.al2023 .*TracedBootstrap/);
});

test('provided (Amazon Linux 1) fails, saying to move to provided.al2023 with the same bootstrap', () => {
  assert.match(refusal('provided', 'other'), /^its runtime provided runs on Amazon Linux 1, .*move the function to provided\.al2023, which runs the same bootstrap/);
});

test('Java 8 to 17 move to the same Java on Amazon Linux 2023, other families to their newest runtime', () => {
  assert.match(refusal('java8', 'java'), /such as java8\.al2023$/);
  assert.match(refusal('nodejs12.x', 'nodejs'), /such as nodejs24\.x$/);
});

test('a runtime made without a family is read by its name', () => {
  assert.deepEqual(choose('nodejs26.x', undefined), { kind: 'wrapper', layer: 'slim', architecture: 'x86_64' });
  assert.deepEqual(choose('provided.al2023', undefined), { kind: 'bootstrap', layer: 'standalone', architecture: 'x86_64' });
  assert.deepEqual(choose('provided.al2', undefined), { kind: 'bootstrap', layer: 'standalone', architecture: 'x86_64' });
  assert.deepEqual(choose('java11', undefined), { kind: 'wrapper', layer: 'standalone', architecture: 'x86_64' });
  assert.match(refusal('go1.x', undefined), /go1\.x calls your handler over RPC/);
  assert.match(refusal('java8', undefined), /java8 runs on Amazon Linux 1/);
  const unknown = choose('cobol9', undefined);
  assert.equal(unknown.kind, 'unsupported');
  assert.match(unknown.kind === 'unsupported' ? unknown.reason : '', /cobol9 is of no family .* new Runtime\(name, RuntimeFamily\.PYTHON\)/);
});

test('an OS-only runtime this construct does not know fails, naming the ones it does', () => {
  assert.match(refusal('bun1.x', 'other'), /^its runtime bun1\.x is not an OS-only runtime this construct knows \(provided\.al2023, provided\.al2\)/);
});

test('a runtime whose name is a token takes the standalone layer, which runs on every Amazon Linux 2 and 2023 runtime', () => {
  assert.deepEqual(choose(undefined, 'nodejs'), { kind: 'wrapper', layer: 'standalone', architecture: 'x86_64' });
  assert.deepEqual(choose(undefined, 'other'), { kind: 'bootstrap', layer: 'standalone', architecture: 'x86_64' });
});

test('a container image takes no layer', () => {
  assert.deepEqual(chooseLayer({ name: 'FROM_IMAGE', family: undefined, architecture: 'x86_64', isImage: true }), { kind: 'image' });
});
