// Every GraphQL example of the docs (README.md and docs/**/*.md, the ```graphql blocks) is
// checked, so the docs cannot drift from the API:
// - each parses and validates against ../../schema.graphql (itself checked against the code by
//   `scorebord export-schema --check`), as a front-end developer's tooling would;
// - each query or mutation that needs nothing from the reader runs against a demo server
//   (SCOREBORD_URL, as the role its text names: admin unless `rep@`, `manager@` or `closer@`
//   is named before it), and must answer without a GraphQL error.
// Examples that need values from an earlier answer (variables, "<id>" placeholders) are
// validated only. Prints one line per example; exits 1 when any failed.
// Run by tests/tests/api/docs_examples.rs.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema, parse, validate, Kind } from 'graphql';
import { suite } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const schema = buildSchema(readFileSync(join(root, 'schema.graphql'), 'utf8'));

function markdownFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...markdownFiles(path));
    else if (name.endsWith('.md')) out.push(path);
  }
  return out;
}

/** The ```graphql blocks of a markdown file, with their line and the prose before them. */
function examples(file) {
  const text = readFileSync(file, 'utf8');
  const found = [];
  const fence = /```graphql\n([\s\S]*?)```/g;
  let match;
  while ((match = fence.exec(text))) {
    const line = text.slice(0, match.index).split('\n').length;
    const before = text.slice(Math.max(0, match.index - 600), match.index);
    found.push({ where: `${relative(root, file)}:${line}`, source: match[1], before });
  }
  return found;
}

/** Which demo login the prose before an example speaks as (the last one it names). */
function role(before) {
  const named = [...before.matchAll(/\b(admin|manager|rep|closer|viewer)@demo\.test/g)];
  return named.length ? named[named.length - 1][1] : 'admin';
}

const files = [join(root, 'README.md'), ...markdownFiles(join(root, 'docs'))];
const all = files.flatMap(examples);
const tokens = {
  admin: process.env.ADMIN_TOKEN,
  manager: process.env.MANAGER_TOKEN,
  rep: process.env.REP_TOKEN,
  closer: process.env.CLOSER_TOKEN,
  viewer: process.env.VIEWER_TOKEN,
};
const url = process.env.SCOREBORD_URL ? `${process.env.SCOREBORD_URL.replace(/\/+$/, '')}/graphql` : null;

const cases = suite(`docs examples (${all.length} in ${files.length} files)`);
let executed = 0;
for (const example of all) {
  cases.test(example.where, async () => {
    const document = parse(example.source);
    const errors = validate(schema, document);
    if (errors.length) throw new Error(errors.map((e) => e.message).join('; '));
    const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    const runnable =
      url &&
      operations.length === 1 &&
      operations[0].operation !== 'subscription' &&
      !(operations[0].variableDefinitions ?? []).length &&
      !example.source.includes('<');
    if (!runnable) return;
    const token = tokens[role(example.before)];
    if (!token) throw new Error(`no token for ${role(example.before)}`);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: example.source }),
    });
    const body = await res.json();
    if (!res.ok || body.errors) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body.errors ?? body)}`);
    executed += 1;
  });
}
cases.test('examples ran against the demo server', async () => {
  if (url && executed === 0) throw new Error('no example ran');
  console.log(`     (${executed} ran against the server, ${all.length - executed} validated only)`);
});
await cases.run();
