// relay-runtime (no React) against a running Scorebord server: Environment + Network + Store,
// `fetchQuery` of `node(id:)`. Relay refetches objects through `node`; an object that is gone
// must come back as `node: null`, which Relay stores as a missing record, not as "No data
// returned" (what it throws when `data` is null, e.g. a non-null `node` that failed).
//
// relay-compiler turns `graphql` tags into request artifacts at build time; this script holds
// the artifact of operations.graphql's RelayNodeQuery, written as the compiler would.
//
// Environment (set by tests/tests/api/real_clients.rs): SCOREBORD_URL, ADMIN_TOKEN.
// Prints one line per check; exits 1 when any failed.

import RelayRuntime from 'relay-runtime';
import { bearer, check, environment, equal, operationText, post, suite } from './lib.mjs';

const { Environment, Network, RecordSource, Store, fetchQuery } = RelayRuntime;
const env = environment(['ADMIN_TOKEN']);

const requests = [];
const network = Network.create(async (params, variables) => {
  requests.push(params.name);
  const res = await fetch(env.httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: bearer(env.ADMIN_TOKEN) },
    body: JSON.stringify({ query: params.text, operationName: params.name, variables }),
  });
  return res.json();
});
const store = new Store(new RecordSource());
const relay = new Environment({ network, store });

// The artifact relay-compiler writes for RelayNodeQuery.
const argumentDefinitions = [{ defaultValue: null, kind: 'LocalArgument', name: 'id' }];
const selections = [
  {
    alias: null,
    args: [{ kind: 'Variable', name: 'id', variableName: 'id' }],
    concreteType: null,
    kind: 'LinkedField',
    name: 'node',
    plural: false,
    selections: [
      { alias: null, args: null, kind: 'ScalarField', name: '__typename', storageKey: null },
      { alias: null, args: null, kind: 'ScalarField', name: 'id', storageKey: null },
      {
        kind: 'InlineFragment',
        selections: [{ alias: null, args: null, kind: 'ScalarField', name: 'label', storageKey: null }],
        type: 'ChecklistItem',
        abstractKey: null,
      },
    ],
    storageKey: null,
  },
];
const RelayNodeQuery = {
  fragment: {
    argumentDefinitions,
    kind: 'Fragment',
    metadata: null,
    name: 'RelayNodeQuery',
    selections,
    type: 'Query',
    abstractKey: null,
  },
  kind: 'Request',
  operation: { argumentDefinitions, kind: 'Operation', name: 'RelayNodeQuery', selections },
  params: {
    cacheID: 'RelayNodeQuery',
    id: null,
    metadata: {},
    name: 'RelayNodeQuery',
    operationKind: 'query',
    text: operationText('RelayNodeQuery'),
  },
};

const node = (id) => fetchQuery(relay, RelayNodeQuery, { id }, { fetchPolicy: 'network-only' }).toPromise();

const t = suite('relay-runtime refetching a removed object through node(id:)');
let itemId;

t.test('a checklist item loads through node(id:) into the Relay store', async () => {
  const stage = await post(env, env.ADMIN_TOKEN, 'CreateStage', { input: { name: `Relay ${Date.now()}` } });
  check(stage.createStage.userErrors.length === 0, JSON.stringify(stage.createStage.userErrors));
  const added = await post(env, env.ADMIN_TOKEN, 'AddChecklistItem', {
    input: { stageId: stage.createStage.stage.id, label: 'Call the buyer', kind: 'PROCESS' },
  });
  check(added.addChecklistItem.userErrors.length === 0, JSON.stringify(added.addChecklistItem.userErrors));
  itemId = added.addChecklistItem.item.id;
  const data = await node(itemId);
  equal(data.node, { __typename: 'ChecklistItem', id: itemId, label: 'Call the buyer' }, 'node');
  const record = store.getSource().get(itemId);
  check(record && record.label === 'Call the buyer', `the store keeps the item by its ID: ${JSON.stringify(record)}`);
});

t.test('after removal the refetch answers node: null, and Relay does not throw', async () => {
  const removed = await post(env, env.ADMIN_TOKEN, 'RemoveChecklistItem', { input: { id: itemId } });
  check(removed.removeChecklistItem.userErrors.length === 0, JSON.stringify(removed.removeChecklistItem.userErrors));
  const before = requests.length;
  const data = await node(itemId);
  check(requests.length === before + 1, 'the refetch went to the server');
  equal(data, { node: null }, 'the refetched data');
  const root = store.getSource().get('client:root');
  equal(root[`node(id:"${itemId}")`], null, 'the store records the field as null');
});

t.test('a malformed ID is an error Relay reports, not a crash of the store', async () => {
  let failed = null;
  try {
    await node('not-an-id');
  } catch (err) {
    failed = err;
  }
  // The server answers `data: {node: null}` with a BAD_USER_INPUT error: Relay 21 takes the data
  // (it surfaces field errors only when asked), so either way nothing is thrown about missing data.
  check(!failed || !String(failed.message).includes('No data returned'), `unexpected: ${failed?.message}`);
});

await t.run();
