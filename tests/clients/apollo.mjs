// @apollo/client 3 (core, no React) against a running Scorebord server: queries and
// mutations over HTTP through its normalized InMemoryCache, which keys objects by
// `__typename` and our global `id`s, and subscriptions through GraphQLWsLink (graphql-ws).
//
// Environment (set by tests/tests/api/real_clients.rs): SCOREBORD_URL, ADMIN_TOKEN, REP_ID,
// MANAGER_ID, OUTBOUND_TEAM_ID, ACTIVITY_TYPE_ID (a COUNT type worth 3 points).
// Prints one line per check; exits 1 when any failed.

import { randomUUID } from 'node:crypto';
// @apollo/client 3 has no "exports" map: Node's ESM loader needs the entry files by path.
import { ApolloClient, ApolloError, HttpLink, InMemoryCache, split } from '@apollo/client/core/index.js';
import { loadDevMessages, loadErrorMessages } from '@apollo/client/dev/index.js';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions/index.js';
import { getMainDefinition } from '@apollo/client/utilities/index.js';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { bearer, check, environment, equal, operation, post, sleep, suite, until } from './lib.mjs';

const env = environment(['ADMIN_TOKEN', 'REP_ID', 'MANAGER_ID', 'OUTBOUND_TEAM_ID', 'ACTIVITY_TYPE_ID']);
const POINTS = 3;

// Apollo reports cache trouble (e.g. objects it cannot normalize) through console.warn and
// console.error: collect them, and fail the last check if there were any.
loadDevMessages();
loadErrorMessages();
const logged = [];
for (const level of ['warn', 'error']) {
  const original = console[level].bind(console);
  console[level] = (...args) => {
    logged.push(`${level}: ${args.map(String).join(' ')}`);
    original(...args);
  };
}

// Every HTTP request, by operation name, to tell cache hits from refetches.
const requests = [];
const countingFetch = (url, init) => {
  requests.push(JSON.parse(init.body).operationName);
  return fetch(url, init);
};

const wsClient = createClient({
  url: env.wsUrl,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: bearer(env.ADMIN_TOKEN) },
});
const link = split(
  ({ query }) => {
    const definition = getMainDefinition(query);
    return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
  },
  new GraphQLWsLink(wsClient),
  new HttpLink({ uri: env.httpUrl, fetch: countingFetch, headers: { authorization: bearer(env.ADMIN_TOKEN) } }),
);
const cache = new InMemoryCache();
const client = new ApolloClient({ link, cache });

const MemberById = operation('MemberById');
const NodeById = operation('NodeById');
const TeamsWithManagers = operation('TeamsWithManagers');
const RenameMember = operation('RenameMember');
const ChangeMemberEmail = operation('ChangeMemberEmail');
const RenameTeam = operation('RenameTeam');
const LogActivity = operation('LogActivity');
const ScoreChanged = operation('ScoreChanged');
const Board = operation('Board');
const MemberFields = operation('RenameMember').definitions.find((d) => d.name.value === 'MemberFields');
const memberFragment = { kind: 'Document', definitions: [MemberFields] };

const memberKey = (id) => cache.identify({ __typename: 'Member', id });
const teamKey = (id) => cache.identify({ __typename: 'Team', id });
const rep = { id: env.REP_ID };
const outboundOf = (data) => data.teams.edges.map((e) => e.node).find((t) => t.id === env.OUTBOUND_TEAM_ID);

/** Runs `fn` and returns the operation names it sent over HTTP. */
async function sent(fn) {
  const from = requests.length;
  await fn();
  return requests.slice(from);
}

const { test, run } = suite('apollo');

test('query: a Member and its Team are normalized under their global ids', async () => {
  const { data } = await client.query({ query: MemberById, variables: rep });
  equal(data.member.__typename, 'Member', '__typename');
  equal(data.member.name, 'acme Rep', 'name');
  equal(memberKey(env.REP_ID), `Member:${env.REP_ID}`, 'cache key');
  const entries = cache.extract();
  equal(entries[memberKey(env.REP_ID)]?.name, 'acme Rep', 'cached Member name');
  equal(entries[memberKey(env.REP_ID)]?.team, { __ref: teamKey(env.OUTBOUND_TEAM_ID) }, 'Member.team reference');
  equal(entries[teamKey(env.OUTBOUND_TEAM_ID)]?.name, 'acme Outbound', 'cached Team name');
  // The same query again is answered from the cache.
  equal(await sent(() => client.query({ query: MemberById, variables: rep })), [], 'requests for a cached query');
});

test('node(id:) resolves to the same cache entries as member(id:) and team(id:)', async () => {
  const member = await client.query({ query: NodeById, variables: rep });
  equal(member.data.node, { __typename: 'Member', id: env.REP_ID, name: 'acme Rep' }, 'node(Member)');
  const team = await client.query({ query: NodeById, variables: { id: env.OUTBOUND_TEAM_ID } });
  equal(team.data.node.__typename, 'Team', 'node(Team) __typename');
  const root = cache.extract().ROOT_QUERY;
  equal(root[`node({"id":"${env.REP_ID}"})`], { __ref: memberKey(env.REP_ID) }, 'node(Member) reference');
  equal(root[`node({"id":"${env.OUTBOUND_TEAM_ID}"})`], { __ref: teamKey(env.OUTBOUND_TEAM_ID) }, 'node(Team) ref');
});

test('mutation: updateMember updates the cached Member by id; a watching query updates without a refetch', async () => {
  const results = [];
  const watcher = client.watchQuery({ query: MemberById, variables: rep }).subscribe({
    next: (result) => results.push(result.data?.member?.name),
    error: (err) => results.push(err),
  });
  try {
    await until(10000, 'the watched query', () => results.length > 0);
    equal(results, ['acme Rep'], 'watched names');
    const names = await sent(async () => {
      const { data } = await client.mutate({ mutation: RenameMember, variables: { ...rep, name: 'Renamed Rep' } });
      equal(data.updateMember.userErrors, [], 'userErrors');
    });
    equal(names, ['RenameMember'], 'requests (the mutation only, no refetch)');
    await until(10000, 'the watched query to see the new name', () => results.at(-1) === 'Renamed Rep');
    equal(client.readQuery({ query: MemberById, variables: rep }).member.name, 'Renamed Rep', 'readQuery');
    const fragment = client.readFragment({ id: memberKey(env.REP_ID), fragment: memberFragment });
    equal(fragment.name, 'Renamed Rep', 'readFragment');
    // And the server agrees.
    equal((await post(env, env.ADMIN_TOKEN, 'MemberById', rep)).member.name, 'Renamed Rep', 'server name');
  } finally {
    watcher.unsubscribe();
  }
});

test('one cached Member serves every query: renaming the manager updates the cached team list', async () => {
  const { data } = await client.query({ query: TeamsWithManagers });
  check(data.teams.totalCount >= 3, `teams: ${JSON.stringify(data.teams)}`);
  equal(outboundOf(data).manager, { __typename: 'Member', id: env.MANAGER_ID, name: 'acme Manager' }, 'manager');
  const names = await sent(() =>
    client.mutate({ mutation: RenameMember, variables: { id: env.MANAGER_ID, name: 'Renamed Manager' } }),
  );
  equal(names, ['RenameMember'], 'requests');
  equal(outboundOf(client.readQuery({ query: TeamsWithManagers })).manager.name, 'Renamed Manager', 'cached list');
});

test('mutation: updateTeam updates the Team under the cached Member and in the cached list', async () => {
  const names = await sent(async () => {
    const { data } = await client.mutate({
      mutation: RenameTeam,
      variables: { id: env.OUTBOUND_TEAM_ID, name: 'Outbound Renamed' },
    });
    equal(data.updateTeam.team, { __typename: 'Team', id: env.OUTBOUND_TEAM_ID, name: 'Outbound Renamed' }, 'team');
  });
  equal(names, ['RenameTeam'], 'requests');
  equal(client.readQuery({ query: MemberById, variables: rep }).member.team.name, 'Outbound Renamed', 'Member.team');
  equal(outboundOf(client.readQuery({ query: TeamsWithManagers })).name, 'Outbound Renamed', 'cached list');
  const { data } = await client.query({ query: MemberById, variables: rep, fetchPolicy: 'network-only' });
  equal(data.member.team.name, 'Outbound Renamed', 'server name');
});

test('userErrors: a refused update returns them and leaves the cached Member as it was', async () => {
  const { data } = await client.mutate({
    mutation: ChangeMemberEmail,
    variables: { ...rep, email: 'admin@acme.test' },
  });
  equal(data.updateMember.member, null, 'member of a refused update');
  const codes = data.updateMember.userErrors.map((e) => [e.field.at(-1), e.code]);
  equal(codes, [['email', 'TAKEN']], 'userErrors');
  const fragment = client.readFragment({ id: memberKey(env.REP_ID), fragment: memberFragment });
  equal([fragment.name, fragment.email], ['Renamed Rep', 'rep@acme.test'], 'cached Member');
});

test('a GraphQL error reaches the caller as an ApolloError with its extensions.code', async () => {
  const missing = Buffer.from(`Member:${randomUUID()}`).toString('base64url');
  let error;
  try {
    await client.query({ query: MemberById, variables: { id: missing } });
  } catch (err) {
    error = err;
  }
  check(error instanceof ApolloError, `expected an ApolloError, got ${error}`);
  equal(
    error.graphQLErrors.map((e) => e.extensions?.code),
    ['NOT_FOUND'],
    'error codes',
  );
});

/** Subscribes through the link; records results. */
function subscribe(query, variables) {
  const sub = { events: [], errors: [] };
  const handle = client.subscribe({ query, variables }).subscribe({
    next: (result) => (result.errors?.length ? sub.errors.push(result.errors) : sub.events.push(result.data)),
    error: (err) => sub.errors.push(err),
  });
  sub.unsubscribe = () => handle.unsubscribe();
  return sub;
}

/** Logs activities for the rep through client.mutate until `sub` has an event past `from`. */
async function logUntilEvent(sub, from) {
  const activities = [];
  const deadline = Date.now() + 10000;
  while (sub.events.length <= from) {
    check(!sub.errors.length, `subscription failed: ${JSON.stringify(sub.errors)}`);
    check(Date.now() < deadline, 'no event within 10 s of logging activities');
    const { data } = await client.mutate({
      mutation: LogActivity,
      variables: { input: { activityTypeId: env.ACTIVITY_TYPE_ID, memberId: env.REP_ID } },
    });
    equal(data.logActivity.userErrors, [], 'logActivity userErrors');
    activities.push(data.logActivity.activity);
    for (let waited = 0; sub.events.length <= from && waited < 400; waited += 10) await sleep(10);
  }
  return activities;
}

test('GraphQLWsLink: scoreChanged arrives after a logActivity mutation and is normalized', async () => {
  const sub = subscribe(ScoreChanged, { memberId: env.REP_ID });
  try {
    const activities = await logUntilEvent(sub, 0);
    const change = sub.events[0].scoreChanged;
    equal(change.pointsDelta, POINTS, 'pointsDelta');
    equal(change.member, { __typename: 'Member', id: env.REP_ID, name: 'Renamed Rep' }, 'member');
    check(
      activities.some((a) => a.id === change.activity.id),
      `activity ${change.activity.id} is none of those logged`,
    );
    const entries = cache.extract();
    const activity = entries[cache.identify({ __typename: 'Activity', id: change.activity.id })];
    equal([activity?.points, activity?.member], [POINTS, { __ref: memberKey(env.REP_ID) }], 'cached Activity');
  } finally {
    sub.unsubscribe();
  }
});

test('GraphQLWsLink: leaderboardChanged sends the board at once and the next board after a mutation', async () => {
  const sub = subscribe(Board, { input: { period: { grain: 'WEEK' }, teamId: env.OUTBOUND_TEAM_ID } });
  try {
    const points = (data) => data.leaderboardChanged.entries.find((e) => e.member?.id === env.REP_ID)?.points;
    await until(10000, 'the current board', () => sub.events.length > 0 || sub.errors.length > 0);
    equal(sub.errors, [], 'subscription errors');
    const before = points(sub.events[0]);
    check(before >= POINTS, `rep points on the first board: ${before}`);
    const { data } = await client.mutate({
      mutation: LogActivity,
      variables: { input: { activityTypeId: env.ACTIVITY_TYPE_ID, memberId: env.REP_ID } },
    });
    equal(data.logActivity.score.points, before + POINTS, 'score after logging');
    await until(10000, 'the next board', () => sub.events.slice(1).some((d) => points(d) === before + POINTS));
    const leader = sub.events.at(-1).leaderboardChanged.entries[0].member;
    equal(leader, { __typename: 'Member', id: env.REP_ID, name: 'Renamed Rep' }, 'leader');
  } finally {
    sub.unsubscribe();
  }
});

test('Apollo logged no warning or error', async () => {
  equal(logged, [], 'console.warn/console.error output');
});

await run();
