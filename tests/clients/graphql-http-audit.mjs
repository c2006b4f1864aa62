// The `graphql-http` package's server audit (the GraphQL-over-HTTP spec's conformance checks)
// against a running Scorebord server, every request carrying a member's token through the
// audit's fetchFn. Every MUST must pass; a SHOULD that warns must be one of EXPECTED_WARNINGS
// below (each explained in docs/clients.md), so a new warning fails too, and so does an
// expected one that starts passing (the list and the docs must then shrink).
//
// Environment (set by tests/tests/api/real_clients.rs): SCOREBORD_URL, REP_TOKEN.

import { auditServer } from 'graphql-http';
import { bearer, check, environment, suite } from './lib.mjs';

const env = environment(['REP_TOKEN']);

// Audit id -> why Scorebord answers differently (see docs/clients.md).
const EXPECTED_WARNINGS = new Map([]);

const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', bearer(env.REP_TOKEN));
  return fetch(input, { ...init, headers });
};

const results = await auditServer({ url: env.httpUrl, fetchFn });
const { test, run } = suite('graphql-http server audit');

for (const result of results) {
  const name = `${result.id} ${result.name}`;
  test(name, async () => {
    if (result.status === 'ok') {
      check(!EXPECTED_WARNINGS.has(result.id), `passes now: remove it from EXPECTED_WARNINGS and docs/clients.md`);
      return;
    }
    const details = `${result.reason}${result.response ? ` (HTTP ${result.response.status})` : ''}`;
    if (result.status === 'warn' && EXPECTED_WARNINGS.has(result.id)) {
      console.log(`warn - ${name}: ${details} — expected: ${EXPECTED_WARNINGS.get(result.id)}`);
      return;
    }
    throw new Error(`${result.status}: ${details}`);
  });
}
test('the audit ran its checks', () => check(results.length > 40, `only ${results.length} audits`));

await run();
