// GraphQL Code Generator (typescript + typescript-operations) on ../../schema.graphql and the
// clients' operations.graphql, as codegen.yml configures it, then `tsc` on the result.
// Codegen can exit 0 after printing a failure or a warning (e.g. with partial outputs), so
// its output is read too: every line must be a progress line (❯ or ✔) and stderr empty.
//
// Needs no server. Prints one line per check; exits 1 when any failed.
// Run by tests/tests/api/real_clients.rs.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema, isEnumType, isInputObjectType, isScalarType, Kind, parse } from 'graphql';
import { check, equal, suite } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const generatedDir = join(here, 'generated');
const generated = join(generatedDir, 'graphql.ts');
const schemaFile = join(here, '..', '..', 'schema.graphql');
const CODEGEN = join(here, 'node_modules', '@graphql-codegen', 'cli', 'cjs', 'bin.js');
const TSC = join(here, 'node_modules', 'typescript', 'bin', 'tsc');

/** Runs `node <script> ...args` in this directory; returns status and plain-text output. */
function node(script, args) {
  const ran = spawnSync(process.execPath, [script, ...args], {
    cwd: here,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    timeout: 120000,
  });
  // eslint-disable-next-line no-control-regex
  const plain = (text) => (text ?? '').replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
  return { status: ran.status, error: ran.error, stdout: plain(ran.stdout), stderr: plain(ran.stderr) };
}

const codegen = (config) => node(CODEGEN, ['--config', config]);

/** What in a codegen run is not a clean success: a non-zero exit, stderr, or any line that is not progress. */
function codegenProblems(ran) {
  const problems = [];
  if (ran.error) problems.push(`could not run: ${ran.error.message}`);
  if (ran.status !== 0) problems.push(`exit status ${ran.status}`);
  if (ran.stderr.trim()) problems.push(`stderr: ${ran.stderr.trim()}`);
  const odd = ran.stdout.split('\n').filter((line) => line.trim() && !/^\s*[❯✔] \S/.test(line));
  if (odd.length) problems.push(`unexpected output: ${odd.join(' | ')}`);
  // Progress lines can still carry a warning or a failure in their text.
  const flagged = ran.stdout.split('\n').filter((line) => /warn|deprecat|fail|error|⚠|✖/i.test(line));
  if (flagged.length) problems.push(`flagged lines: ${flagged.join(' | ')}`);
  return problems;
}

const schema = buildSchema(readFileSync(schemaFile, 'utf8'));
const operations = parse(readFileSync(join(here, 'operations.graphql'), 'utf8')).definitions.filter(
  (d) => d.kind === Kind.OPERATION_DEFINITION,
);

const { test, run } = suite('codegen');

test('graphql-codegen (typescript, typescript-operations) runs with no warning or error', async () => {
  rmSync(generatedDir, { recursive: true, force: true });
  const ran = codegen('codegen.yml');
  const problems = codegenProblems(ran);
  check(problems.length === 0, problems.join('; '));
  check(existsSync(generated), `${generated} was not written`);
});

test('the generated file has a type for every type of the schema', async () => {
  const text = readFileSync(generated, 'utf8');
  const missing = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    const found = isScalarType(type)
      ? new RegExp(`^  ${type.name}: \\{ input: [^;]+; output: [^;]+; \\}`, 'm').test(text)
      : new RegExp(`^export type ${type.name} =`, 'm').test(text);
    if (!found) missing.push(type.name);
  }
  equal(missing, [], 'schema types missing from the generated file');
  const count = (predicate) => Object.values(schema.getTypeMap()).filter((t) => !t.name.startsWith('__') && predicate(t)).length;
  check(count(isEnumType) > 10 && count(isInputObjectType) > 50, 'the schema looks too small');
});

test('the generated file has result and variables types for every operation of operations.graphql', async () => {
  const text = readFileSync(generated, 'utf8');
  const missing = [];
  for (const op of operations) {
    const kind = { query: 'Query', mutation: 'Mutation', subscription: 'Subscription' }[op.operation];
    for (const name of [`${op.name.value}${kind}`, `${op.name.value}${kind}Variables`]) {
      if (!new RegExp(`^export type ${name} =`, 'm').test(text)) missing.push(name);
    }
  }
  equal(missing, [], 'operation types missing');
  check(operations.length >= 10, `only ${operations.length} operations`);
});

test('tsc --noEmit --strict accepts the generated types and typecheck.ts (which uses them)', async () => {
  const ran = node(TSC, ['-p', 'tsconfig.json']);
  check(ran.status === 0 && !ran.stdout.trim() && !ran.stderr.trim(), `tsc (${ran.status}): ${ran.stdout}${ran.stderr}`);
});

test('tsc is not vacuous: a misuse of the generated types is an error', async () => {
  const broken = join(generatedDir, 'broken.ts');
  writeFileSync(
    broken,
    "import type { MemberByIdQuery } from './graphql';\n" +
      "export const name: string = ({} as MemberByIdQuery).member.team.name;\n",
  );
  const ran = node(TSC, ['--noEmit', '--strict', broken]);
  check(ran.status !== 0, 'tsc accepted a possibly-null access');
  check(/TS18047|TS2531|possibly 'null'/.test(ran.stdout), `unexpected tsc output: ${ran.stdout}${ran.stderr}`);
});

test('a codegen warning is caught even when codegen exits 0 (partial output)', async () => {
  // One output generates, the other has an invalid operation: codegen warns and exits 0.
  const dir = join(generatedDir, 'partial');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'bad.graphql'), 'query Bad { noSuchField }\n');
  writeFileSync(
    join(dir, 'codegen.yml'),
    [
      'schema: ../../schema.graphql',
      'allowPartialOutputs: true',
      'generates:',
      '  generated/partial/good.ts:',
      '    plugins: [typescript]',
      '  generated/partial/bad.ts:',
      '    documents: generated/partial/bad.graphql',
      '    plugins: [typescript, typescript-operations]',
      '',
    ].join('\n'),
  );
  const ran = codegen(join(dir, 'codegen.yml'));
  equal(ran.status, 0, 'codegen exit status');
  const problems = codegenProblems(ran);
  check(problems.some((p) => p.includes('⚠')), `the warning was not caught: ${JSON.stringify(ran)}`);
});

await run(120000);
