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

test('nodejs20.x takes the standalone layer: its Node is older than 22.15', () => {
  assert.deepEqual(choose('nodejs20.x', 'nodejs', 'arm64'), { kind: 'wrapper', layer: 'standalone', architecture: 'arm64' });
});

test('Amazon Linux 2023 runtimes of other families take the standalone layer of their architecture', () => {
  const runtimes: [string, RuntimeFamilyName][] = [
    ['python3.12', 'python'], ['python3.14', 'python'], ['java21', 'java'], ['java25', 'java'], ['java8.al2023', 'java'],
    ['dotnet8', 'dotnet'], ['dotnet10', 'dotnet'], ['ruby3.3', 'ruby'], ['ruby4.0', 'ruby'],
  ];
  for (const [name, family] of runtimes) {
    assert.deepEqual(choose(name, family, 'arm64'), { kind: 'wrapper', layer: 'standalone', architecture: 'arm64' }, name);
  }
});

test('provided.al2023 takes the standalone layer and needs the wrapper in its bootstrap', () => {
  assert.deepEqual(choose('provided.al2023', 'other'), { kind: 'bootstrap', layer: 'standalone', architecture: 'x86_64' });
});

test('Amazon Linux 2 runtimes cannot run it, and the reason names a runtime to move to', () => {
  const runtimes: [string, RuntimeFamilyName, string][] = [
    ['nodejs18.x', 'nodejs', 'nodejs24.x'], ['python3.11', 'python', 'python3.13'], ['java17', 'java', 'java21'],
    ['java8.al2', 'java', 'java21'], ['dotnet6', 'dotnet', 'dotnet8'], ['ruby3.2', 'ruby', 'ruby3.4'],
    ['provided.al2', 'other', 'provided.al2023'], ['provided', 'other', 'provided.al2023'], ['go1.x', 'go', 'provided.al2023'],
  ];
  for (const [name, family, successor] of runtimes) {
    const choice = choose(name, family);
    assert.equal(choice.kind, 'unsupported', name);
    assert.match(choice.kind === 'unsupported' ? choice.reason : '', new RegExp(`${name.replaceAll('.', '\\.')} runs on Amazon Linux 2 .*such as ${successor.replaceAll('.', '\\.')}$`), name);
  }
});

test('a runtime made without a family is read by its name', () => {
  assert.deepEqual(choose('nodejs26.x', undefined), { kind: 'wrapper', layer: 'slim', architecture: 'x86_64' });
  assert.deepEqual(choose('provided.al2023', undefined), { kind: 'bootstrap', layer: 'standalone', architecture: 'x86_64' });
  const unknown = choose('cobol9', undefined);
  assert.equal(unknown.kind, 'unsupported');
  assert.match(unknown.kind === 'unsupported' ? unknown.reason : '', /cobol9 is of no family .* new Runtime\(name, RuntimeFamily\.PYTHON\)/);
});

test('a runtime whose name is a token takes the standalone layer, which runs on every Amazon Linux 2023 runtime', () => {
  assert.deepEqual(choose(undefined, 'nodejs'), { kind: 'wrapper', layer: 'standalone', architecture: 'x86_64' });
  assert.deepEqual(choose(undefined, 'other'), { kind: 'bootstrap', layer: 'standalone', architecture: 'x86_64' });
});

test('a container image takes no layer', () => {
  assert.deepEqual(chooseLayer({ name: 'FROM_IMAGE', family: undefined, architecture: 'x86_64', isImage: true }), { kind: 'image' });
});
