// urql 6 (`@urql/core`) with its default options against a running Scorebord server: the
// client is created as its documentation shows, with only the Authorization header added
// through fetchOptions. urql sends queries with GET (`preferGetMethod: 'within-url-limit'`)
// and mutations with POST, with its own Accept list; its document cache (`cacheExchange`)
// answers a repeated query without a request and refetches after a mutation of that type.
//
// Environment (set by tests/tests/api/real_clients.rs): SCOREBORD_URL, ADMIN_TOKEN, REP_ID,
// ACTIVITY_TYPE_ID. Prints one line per check; exits 1 when any failed.

import { Client, cacheExchange, fetchExchange } from '@urql/core';
import { bearer, check, environment, equal, operation, suite } from './lib.mjs';

const env = environment(['ADMIN_TOKEN', 'REP_ID', 'ACTIVITY_TYPE_ID']);

// Every request urql makes, seen through the global fetch it uses by default (so the client
// itself keeps its default options).
const requests = [];
const originalFetch = globalThis.fetch;
globalThis.fetch = async (input, init = {}) => {
  const url = new URL(typeof input === 'string' ? input : input.url);
  const response = await originalFetch(input, init);
  requests.push({
    method: init.method ?? 'GET',
    url,
    accept: new Headers(init.headers).get('accept'),
    status: response.status,
    contentType: response.headers.get('content-type'),
  });
  return response;
};

const client = new Client({
  url: env.httpUrl,
  exchanges: [cacheExchange, fetchExchange],
  fetchOptions: { headers: { authorization: bearer(env.ADMIN_TOKEN) } },
});

const MemberById = operation('MemberById');
const LogActivity = operation('LogActivity');
const Ping = operation('Ping');

const { test, run } = suite('urql 6 (@urql/core, default options)');

test('a query goes by GET with urql\'s Accept list and gets a graphql-response+json answer', async () => {
  const before = requests.length;
  const result = await client.query(MemberById, { id: env.REP_ID }).toPromise();
  check(!result.error, `error: ${result.error}`);
  equal(result.data.member.name, 'acme Rep', 'member name');
  const sent = requests.slice(before);
  equal(sent.length, 1, 'requests');
  const [request] = sent;
  equal(request.method, 'GET', 'method');
  check(request.url.searchParams.get('query')?.includes('member(id: $id)'), `query parameter: ${request.url}`);
  equal(JSON.parse(request.url.searchParams.get('variables')), { id: env.REP_ID }, 'variables parameter');
  check(request.accept?.startsWith('application/graphql-response+json'), `accept: ${request.accept}`);
  equal(request.status, 200, 'status');
  equal(request.contentType, 'application/graphql-response+json', 'content type');
});

test('the same query again is answered from urql\'s cache, without a request', async () => {
  const before = requests.length;
  const result = await client.query(MemberById, { id: env.REP_ID }).toPromise();
  check(!result.error, `error: ${result.error}`);
  equal(result.data.member.name, 'acme Rep', 'member name');
  equal(requests.length - before, 0, 'requests');
});

test('a mutation goes by POST and runs', async () => {
  const before = requests.length;
  const result = await client
    .mutation(LogActivity, { input: { activityTypeId: env.ACTIVITY_TYPE_ID, memberId: env.REP_ID } })
    .toPromise();
  check(!result.error, `error: ${result.error}`);
  equal(result.data.logActivity.userErrors, [], 'userErrors');
  check(typeof result.data.logActivity.activity.id === 'string', 'activity id');
  const sent = requests.slice(before);
  equal(sent.map((r) => r.method), ['POST'], 'methods');
  equal(sent[0].status, 200, 'status');
});

test('a network-only query refetches by GET', async () => {
  const before = requests.length;
  const result = await client.query(Ping, {}, { requestPolicy: 'network-only' }).toPromise();
  check(!result.error, `error: ${result.error}`);
  equal(result.data.__typename, 'Query', '__typename');
  equal(requests.slice(before).map((r) => r.method), ['GET'], 'methods');
});

test('a validation error comes back as a GraphQL error (400 under graphql-response+json)', async () => {
  const before = requests.length;
  const result = await client.query('query Broken { nope }', {}).toPromise();
  check(result.error, 'an error');
  check(result.error.graphQLErrors.length === 1, `graphQLErrors: ${result.error}`);
  check(/nope/.test(result.error.graphQLErrors[0].message), `message: ${result.error.graphQLErrors[0].message}`);
  check(!result.error.networkError, `network error: ${result.error.networkError}`);
  const [request] = requests.slice(before);
  equal([request.method, request.status], ['GET', 400], 'method and status');
});

test('a long query moves to POST (urql\'s URL limit), and still runs', async () => {
  const aliases = Array.from({ length: 150 }, (_, i) => `a${i}: __typename`).join(' ');
  const before = requests.length;
  const result = await client.query(`query Long { ${aliases} }`, {}).toPromise();
  check(!result.error, `error: ${result.error}`);
  equal(result.data.a149, 'Query', 'last alias');
  equal(requests.slice(before).map((r) => r.method), ['POST'], 'methods');
});

await run();
