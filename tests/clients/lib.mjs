// Shared helpers of the real-client checks: the environment the Rust test passes, the
// operations of operations.graphql by name, a plain GraphQL POST, and a small case runner
// that prints one line per case and exits non-zero when any case failed.

import { readFileSync } from 'node:fs';
import { Kind, parse, print, visit } from 'graphql';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects after `ms` with `what` unless `promise` settles first. */
export function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} (nothing within ${ms} ms)`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `condition` every 10 ms until it holds; rejects after `ms` with `what`. */
export function until(ms, what, condition) {
  return within(
    ms,
    what,
    (async () => {
      while (!condition()) await sleep(10);
    })(),
  );
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** JSON with object keys sorted, so that key order does not matter. */
const canonical = (value) =>
  JSON.stringify(value, (_, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );

export function equal(actual, expected, what) {
  const a = canonical(actual);
  const e = canonical(expected);
  check(a === e, `${what}: expected ${e}, got ${a}`);
}

/** The server and the seeded organization, from the environment (set by real_clients.rs). */
export function environment(names) {
  const env = {};
  const missing = [];
  for (const name of ['SCOREBORD_URL', ...names]) {
    const value = process.env[name];
    if (!value) missing.push(name);
    env[name] = value;
  }
  if (missing.length) {
    console.error(`missing environment: ${missing.join(', ')} (run by tests/tests/api/real_clients.rs)`);
    process.exit(2);
  }
  const base = env.SCOREBORD_URL.replace(/\/+$/, '');
  env.httpUrl = `${base}/graphql`;
  env.wsUrl = env.httpUrl.replace(/^http/, 'ws');
  return env;
}

export const bearer = (token) => `Bearer ${token}`;

const document = parse(readFileSync(new URL('./operations.graphql', import.meta.url), 'utf8'));
const fragments = new Map(
  document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
);

/** The named operation of operations.graphql with the fragments it uses, as a document. */
export function operation(name) {
  const op = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION && d.name?.value === name);
  if (!op) throw new Error(`operations.graphql has no operation ${name}`);
  const used = new Map();
  const collect = (node) =>
    visit(node, {
      FragmentSpread(spread) {
        const name = spread.name.value;
        if (!used.has(name)) {
          used.set(name, fragments.get(name));
          collect(fragments.get(name));
        }
      },
    });
  collect(op);
  return { kind: Kind.DOCUMENT, definitions: [op, ...used.values()] };
}

/** The named operation as query text (for clients that take a string). */
export const operationText = (name) => print(operation(name));

/** POSTs an operation of operations.graphql; throws on an HTTP or GraphQL error. */
export async function post(env, token, name, variables = {}) {
  const res = await fetch(env.httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: bearer(token) },
    body: JSON.stringify({ query: operationText(name), operationName: name, variables }),
  });
  const body = await res.json().catch(() => null);
  if (!res.ok || !body || body.errors) {
    throw new Error(`${name}: HTTP ${res.status}: ${JSON.stringify(body)}`);
  }
  return body.data;
}

/** Logs one activity of `typeId` for `memberId` (3 points each in the seeded type). */
export async function logActivity(env, token, typeId, memberId) {
  const data = await post(env, token, 'LogActivity', { input: { activityTypeId: typeId, memberId } });
  const payload = data.logActivity;
  check(payload.userErrors.length === 0, `logActivity refused: ${JSON.stringify(payload.userErrors)}`);
  return payload.activity;
}

export function describe(err) {
  if (err instanceof Error) return err.message;
  if (Array.isArray(err)) return JSON.stringify(err);
  if (err && typeof err === 'object' && 'code' in err) return `close ${err.code} "${err.reason ?? ''}"`;
  return JSON.stringify(err);
}

/** Collects cases; `run` runs them in order and exits with the outcome. */
export function suite(title) {
  const cases = [];
  return {
    test: (name, fn) => cases.push({ name, fn }),
    async run(limitMs = 30000) {
      const failures = [];
      console.log(title);
      for (const { name, fn } of cases) {
        try {
          await within(limitMs, name, fn());
          console.log(`ok   - ${name}`);
        } catch (err) {
          failures.push(name);
          console.log(`FAIL - ${name}: ${describe(err)}`);
          if (err instanceof Error && err.stack && process.env.CLIENT_STACKS) console.log(err.stack);
        }
      }
      const passed = cases.length - failures.length;
      console.log(`${title}: ${passed} of ${cases.length} checks passed`);
      process.exit(failures.length ? 1 : 0);
    },
  };
}
