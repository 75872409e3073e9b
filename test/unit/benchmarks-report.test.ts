import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keepOtherSections } from '../bench/report.ts';

const previous = '# Benchmarks\n\nold intro\n\n## Memory\n\nold memory\n\n## Soak (`make soak`)\n\nthe hour\n';
const next = '# Benchmarks\n\nnew intro\n\n## Memory\n\nnew memory\n';

test('a bench run replaces its own sections of BENCHMARKS.md and keeps the soak section', () => {
  assert.equal(keepOtherSections(previous, next),
    '# Benchmarks\n\nnew intro\n\n## Memory\n\nnew memory\n\n## Soak (`make soak`)\n\nthe hour\n');
});

test('a bench run over a file with only its own sections writes its report unchanged', () => {
  assert.equal(keepOtherSections(next.replace('new', 'old'), next), next);
  assert.equal(keepOtherSections('', next), next);
});
