import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  STRING_CONTINUES, STRING_CONTINUES_ESCAPED, compileShape, decodeString, findMember, keyEquals, parseSlice,
  readObject, readObjectArray, readRootObject, readRootObjectHead, sameValueBytes, scanValue, skipStringContent,
} from '../../src/event/json-scan.ts';

const b = (text: string) => Buffer.from(text);

describe('scanning values', () => {
  it('finds the end of every kind of JSON value', () => {
    for (const value of ['"a\\"b"', '0', '-12.5e+3', 'true', 'false', 'null', '{}', '[]', '{"a":[1,{"b":"}"}]}', '[ 1 , "]" ]']) {
      assert.equal(scanValue(b(`${value},`), 0), value.length, value);
    }
  });

  it('refuses what the grammar does not allow outside strings', () => {
    assert.equal(readRootObject(b('{"a":01}')), undefined, 'a leading zero');
    for (const value of ['-', '1.', '1e', 'tru', 'nul', 'nulL', 'f', 'True', 'nan', '{"a"}', '{"a":1,}', '[1,]', '[1 2]', '{1:2}', '"open', '{"a":[}']) {
      assert.equal(scanValue(b(value), 0), -1, value);
    }
  });

  it('skips long strings and strings full of escaped quotes alike', () => {
    const text = `"${'x'.repeat(100_000)}${'\\"'.repeat(10_000)}\\\\"`;
    assert.equal(scanValue(b(`${text}]`), 0), text.length);
  });

  it('says when a string runs past the buffer, and whether a backslash ended it', () => {
    assert.equal(skipStringContent(b('abc'), 0), STRING_CONTINUES);
    assert.equal(skipStringContent(b('abc\\'), 0), STRING_CONTINUES_ESCAPED);
    assert.equal(skipStringContent(b('ab\\\\'), 0), STRING_CONTINUES);
    assert.equal(skipStringContent(b('ab\\"c"d'), 0), 6);
  });

  it('nests deeper than the call stack could without overflowing', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    assert.equal(scanValue(b(deep), 0), deep.length);
  });

  it('pairs every closing bracket with its own kind at any depth, objects and arrays mixed', () => {
    for (const depth of [1, 2, 51, 52, 53, 54, 60, 120]) {
      // Levels alternate (object, array, ...) from the outside, or start with an array.
      for (const first of [0, 1]) {
        const levels = Array.from({ length: depth }, (_, k) => (k + first) % 2 === 0 ? 'object' : 'array');
        const open = levels.map((l) => (l === 'object' ? '{"k":' : '[0,')).join('');
        const close = [...levels].reverse().map((l) => (l === 'object' ? ',"z":1}' : ',1]')).join('');
        const text = `${open}"v"${close}`;
        assert.equal(scanValue(b(`${text} `), 0), text.length, `depth ${depth}, first ${levels[0]}`);
        // The innermost closer swapped for the other kind, and an outer one: refused either way.
        const innermost = levels[depth - 1] === 'object' ? ',"z":1}' : ',1]';
        const swapped = levels[depth - 1] === 'object' ? ',1]' : ',"z":1}';
        assert.equal(scanValue(b(`${open}"v"${swapped}${close.slice(innermost.length)}`), 0), -1, `depth ${depth}: inner closer swapped`);
        const outer = levels[0] === 'object' ? '}' : ']';
        assert.equal(scanValue(b(`${text.slice(0, -1)}${outer === '}' ? ']' : '}'}`), 0), -1, `depth ${depth}: outer closer swapped`);
      }
    }
  });
});

describe('reading objects', () => {
  const shape = compileShape({ keep: true, nested: { inner: true }, list: [{ id: true }], '*': true });

  it('keeps only the members a shape names, reading nested ones in the same pass', () => {
    const text = b('{"skip":[1,2],"keep":"k","nested":{"inner":1,"other":2},"list":[{"id":"a","x":1},{"id":"b"}]}');
    const onlyNamed = compileShape({ keep: true, nested: { inner: true }, list: [{ id: true }] });
    const root = readRootObject(text, onlyNamed);
    assert.ok(root);
    assert.deepEqual(root.members.map((m) => decodeString(text, m.keyStart, m.keyEnd)), ['keep', 'nested', 'list']);
    const nested = findMember(text, root, 'nested');
    assert.deepEqual(nested?.object?.members.map((m) => decodeString(text, m.keyStart, m.keyEnd)), ['inner']);
    const list = findMember(text, root, 'list');
    assert.equal(list?.elements?.length, 2);
  });

  it('keeps every member for a wildcard', () => {
    const text = b('{"a":1,"b":2}');
    assert.equal(readRootObject(text, shape)?.members.length, 2);
  });

  it('finds the last of duplicate keys, as JSON.parse keeps it', () => {
    const text = b('{"a":1,"a":2}');
    const root = readRootObject(text);
    const member = root && findMember(text, root, 'a');
    assert.equal(member && parseSlice(text, member.valueStart, member.valueEnd, 10), 2);
  });

  it('compares keys as bytes, decoding escaped ones, with or without case', () => {
    const text = b('{"Trace\\u0050arent":1,"TRACEPARENT":2}');
    const root = readRootObject(text)!;
    assert.equal(keyEquals(text, root.members[0]!, 'traceparent', true), true);
    assert.equal(keyEquals(text, root.members[0]!, 'TraceParent', false), true);
    assert.equal(keyEquals(text, root.members[1]!, 'traceparent', true), true);
    assert.equal(keyEquals(text, root.members[1]!, 'traceparent', false), false);
  });

  it('refuses a root followed by anything but whitespace, and roots that are no object', () => {
    assert.ok(readRootObject(b(' {"a":1}\n')));
    for (const text of ['{"a":1} x', '[1]', '"s"', '', '{"a":1']) assert.equal(readRootObject(b(text)), undefined, text);
  });

  it('reads an array of objects, and nothing else as one', () => {
    assert.equal(readObjectArray(b('[{"a":1},{}]'), 0)?.elements.length, 2);
    assert.equal(readObjectArray(b('[{"a":1},2]'), 0), undefined);
  });

  it('tells equal values apart from different ones by their bytes', () => {
    const text = b('{"a":"arn:x","b":"arn:x","c":"arn:y"}');
    const root = readRootObject(text)!;
    assert.equal(sameValueBytes(text, root.members[0]!, root.members[1]!), true);
    assert.equal(sameValueBytes(text, root.members[0]!, root.members[2]!), false);
  });

  it('decodes strings, escapes included, and parses only slices within the limit', () => {
    const text = b('"caf\\u00e9 \\"x\\""');
    assert.equal(decodeString(text, 0, text.length), 'café "x"');
    assert.equal(parseSlice(b('{"a":1}'), 0, 7, 6), undefined);
    assert.equal(parseSlice(b('{"a":'), 0, 5, 100), undefined);
  });

  it('reads an object in the middle of a buffer from its brace', () => {
    const text = b('xx{"a":{"b":1}}yy');
    assert.equal(readObject(text, 2)?.end, 15);
  });
});

describe('reading the head of a longer document', () => {
  const shape = compileShape({ headers: true, body: true });

  it('returns the complete members and the member whose string runs past the head', () => {
    const text = b('{"headers":{"a":"b"},"other":1,"payload":"xxxxxxxx');
    const head = readRootObjectHead(text, shape);
    assert.ok(typeof head === 'object');
    assert.deepEqual(head.root.members.map((m) => decodeString(text, m.keyStart, m.keyEnd)), ['headers']);
    assert.equal(decodeString(text, head.open.keyStart, head.open.keyEnd), 'payload');
  });

  it('needs more when the head ends in a key, a number or a nested value', () => {
    for (const text of ['{"head', '{"a":12', '{"a":{"b":"c', '{"a":[1,', '{"a":1', '', ' ']) {
      assert.equal(readRootObjectHead(b(text), shape), 'incomplete', text);
    }
  });

  it('is undefined for bytes that cannot start an object', () => {
    for (const text of ['[1,2', 'plain text', '{"a" 1', '{"a":1 "b"']) assert.equal(readRootObjectHead(b(text), shape), undefined, text);
  });
});
