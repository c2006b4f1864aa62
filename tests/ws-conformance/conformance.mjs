// graphql-transport-ws conformance of a running Scorebord server, checked with the real
// `graphql-ws` client and with raw `ws` sockets for the close codes of the protocol
// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md).
//
// Usage: node conformance.mjs <base-url> <member-token> <admin-token>
//   or set SCOREBORD_URL, MEMBER_TOKEN, ADMIN_TOKEN.
// WS_INIT_TIMEOUT_MS must match the server's setting (default 10000): the 4408 case waits for it.
//
// Prints one line per passed case; exits 1 with the reason of every failed case.
// Run by tests/tests/api/ws_conformance.rs (`cargo test --workspace`).

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const PROTOCOL = 'graphql-transport-ws';
const SUBSCRIPTION = 'subscription { organizationChanged { name } }';

const [baseArg, memberArg, adminArg] = process.argv.slice(2);
const baseUrl = (baseArg ?? process.env.SCOREBORD_URL ?? '').replace(/\/+$/, '');
const memberToken = memberArg ?? process.env.MEMBER_TOKEN;
const adminToken = adminArg ?? process.env.ADMIN_TOKEN;
const initTimeoutMs = Number(process.env.WS_INIT_TIMEOUT_MS ?? 10000);

if (!/^https?:\/\//.test(baseUrl) || !memberToken || !adminToken || !(initTimeoutMs > 0)) {
  console.error('usage: node conformance.mjs <http://host:port> <member-token> <admin-token>');
  console.error('   (or SCOREBORD_URL, MEMBER_TOKEN, ADMIN_TOKEN; WS_INIT_TIMEOUT_MS a positive number)');
  process.exit(2);
}

const httpUrl = `${baseUrl}/graphql`;
const wsUrl = httpUrl.replace(/^http/, 'ws');
const bearer = (token) => `Bearer ${token}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects after `ms` with `what` unless `promise` settles first. */
function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} (no answer within ${ms} ms)`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** POSTs a GraphQL operation; throws on an HTTP or GraphQL error. */
async function graphql(token, query, variables = {}) {
  const res = await fetch(httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: bearer(token) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json().catch(() => null);
  if (!res.ok || !body || body.errors) {
    throw new Error(`HTTP ${res.status} from ${httpUrl}: ${JSON.stringify(body)}`);
  }
  return body.data;
}

function renameOrganization(name) {
  return graphql(
    adminToken,
    'mutation Rename($name: String!) { updateOrganization(input: {name: $name}) { organization { name } } }',
    { name },
  );
}

/** A raw graphql-transport-ws socket that records messages and the close frame. */
async function rawSocket() {
  const socket = new WebSocket(wsUrl, PROTOCOL);
  const messages = [];
  let wake = () => {};
  socket.on('message', (data) => {
    let parsed;
    try {
      parsed = JSON.parse(String(data));
    } catch {
      parsed = { unparseable: String(data) };
    }
    messages.push(parsed);
    wake();
  });
  const closed = new Promise((resolve) => {
    socket.on('close', (code, reason) => {
      resolve({ code, reason: String(reason) });
      wake();
    });
  });
  await within(
    5000,
    'WebSocket handshake',
    new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    }),
  );
  check(socket.protocol === PROTOCOL, `server chose subprotocol "${socket.protocol}", not ${PROTOCOL}`);
  const raw = {
    socket,
    closed,
    send: (msg) => socket.send(typeof msg === 'string' ? msg : JSON.stringify(msg)),
    /** The next message (skipping none), failing if the socket closes first. */
    async next(what) {
      return within(
        5000,
        what,
        (async () => {
          for (;;) {
            if (messages.length) return messages.shift();
            if (socket.readyState >= WebSocket.CLOSING) {
              const { code, reason } = await closed;
              throw new Error(`${what}: socket closed ${code} "${reason}" instead`);
            }
            await new Promise((resolve) => {
              wake = resolve;
            });
          }
        })(),
      );
    },
    /** Sends connection_init with the member token and expects connection_ack. */
    async init() {
      raw.send({ type: 'connection_init', payload: { authorization: bearer(memberToken) } });
      const ack = await raw.next('connection_ack');
      check(ack.type === 'connection_ack', `expected connection_ack, got ${JSON.stringify(ack)}`);
    },
    /** Waits for the close frame and checks its code (and the reason's start, if given). */
    async expectClose(code, reasonStart, ms = 5000) {
      const got = await within(ms, `close ${code}`, closed);
      check(
        got.code === code,
        `expected close ${code}, got ${got.code} "${got.reason}" (messages: ${JSON.stringify(messages)})`,
      );
      if (reasonStart !== undefined) {
        check(got.reason.startsWith(reasonStart), `close ${code} reason "${got.reason}" should start "${reasonStart}"`);
      }
      return got;
    },
  };
  return raw;
}

// ---- cases -------------------------------------------------------------------------------

const cases = [];
const test = (name, fn) => cases.push({ name, fn });

test('graphql-ws client: connects, subscribes to organizationChanged and receives the update', async () => {
  const events = { connected: 0, closed: [] };
  let nonLazyError;
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: bearer(memberToken) },
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: (err) => {
      nonLazyError = err;
    },
    on: {
      connected: () => {
        events.connected += 1;
      },
      closed: (event) => events.closed.push(event?.code),
    },
  });
  try {
    // lazy: false connects right away; wait for the ack.
    await within(
      5000,
      'graphql-ws client connection_ack',
      (async () => {
        while (!events.connected) {
          if (nonLazyError) throw new Error(`client failed to connect: ${describe(nonLazyError)}`);
          await sleep(20);
        }
      })(),
    );

    const names = new Set();
    let received;
    let failure;
    let completed = false;
    const unsubscribe = client.subscribe(
      { query: SUBSCRIPTION },
      {
        next: (value) => {
          received ??= value;
        },
        error: (err) => {
          failure = err;
        },
        complete: () => {
          completed = true;
        },
      },
    );
    // The protocol has no "subscribed" message: rename until the first event arrives.
    const deadline = Date.now() + 10000;
    for (let i = 1; !received; i += 1) {
      if (failure) throw new Error(`subscription failed: ${describe(failure)}`);
      if (completed) throw new Error('subscription completed before any event');
      if (Date.now() > deadline) throw new Error('no organizationChanged event within 10 s of updateOrganization');
      const name = `Conformance ${process.pid}-${i}`;
      names.add(name);
      await renameOrganization(name);
      for (let waited = 0; !received && !failure && waited < 500; waited += 20) await sleep(20);
    }
    check(!received.errors, `event carried errors: ${JSON.stringify(received.errors)}`);
    const name = received.data?.organizationChanged?.name;
    check(names.has(name), `event name ${JSON.stringify(name)} is none of the names just set (${[...names]})`);
    unsubscribe();
  } finally {
    await client.dispose();
  }
  check(events.connected === 1, `expected one connection, saw ${events.connected}`);
});

test('graphql-ws client: a query over the socket returns its result and completes', async () => {
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: bearer(memberToken) },
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => {},
  });
  try {
    const results = [];
    for await (const result of client.iterate({ query: '{ __typename }' })) results.push(result);
    check(results.length === 1, `expected one result, got ${JSON.stringify(results)}`);
    check(results[0].data?.__typename === 'Query', `unexpected result ${JSON.stringify(results[0])}`);
  } finally {
    await client.dispose();
  }
});

test('graphql-ws client: a bad token is refused with 4403', async () => {
  let closeCode;
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: 'Bearer not-a-token' },
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => {},
    on: {
      closed: (event) => {
        closeCode ??= event?.code;
      },
    },
  });
  try {
    await within(
      5000,
      'close after a bad token',
      (async () => {
        while (closeCode === undefined) await sleep(20);
      })(),
    );
    check(closeCode === 4403, `expected 4403, got ${closeCode}`);
  } finally {
    await client.dispose();
  }
});

test('ping is answered with pong (before and after connection_init)', async () => {
  const ws = await rawSocket();
  ws.send({ type: 'ping' });
  const early = await ws.next('pong before connection_init');
  check(early.type === 'pong', `expected pong, got ${JSON.stringify(early)}`);
  await ws.init();
  ws.send({ type: 'ping', payload: { at: 1 } });
  const late = await ws.next('pong after connection_ack');
  check(late.type === 'pong', `expected pong, got ${JSON.stringify(late)}`);
  ws.socket.close(1000);
});

const badMessages = [
  ['invalid JSON', 'this is { not json'],
  ['a JSON value that is not an object', '["connection_init"]'],
  ['an unknown message type', { type: 'subscribe_please', id: '1' }],
  ['a server-to-client type (next)', { type: 'next', id: '1', payload: {} }],
  ['subscribe without an id', { type: 'subscribe', payload: { query: SUBSCRIPTION } }],
  ['subscribe without a query', { id: '1', type: 'subscribe', payload: {} }],
  ['complete without an id', { type: 'complete' }],
];
for (const [what, message] of badMessages) {
  test(`4400 on ${what} after connection_ack`, async () => {
    const ws = await rawSocket();
    await ws.init();
    ws.send(message);
    await ws.expectClose(4400);
  });
}

test('4400 on invalid JSON before connection_init', async () => {
  const ws = await rawSocket();
  ws.send('{');
  await ws.expectClose(4400);
});

test('4401 on subscribe before connection_init', async () => {
  const ws = await rawSocket();
  ws.send({ id: '1', type: 'subscribe', payload: { query: SUBSCRIPTION } });
  await ws.expectClose(4401, 'Unauthorized');
});

test('4403 on a bad token', async () => {
  const ws = await rawSocket();
  ws.send({ type: 'connection_init', payload: { authorization: 'Bearer not-a-token' } });
  await ws.expectClose(4403, 'Forbidden');
});

test('4403 on connection_init without a token', async () => {
  const ws = await rawSocket();
  ws.send({ type: 'connection_init' });
  await ws.expectClose(4403, 'Forbidden');
});

test(`4408 when no connection_init arrives within ${initTimeoutMs} ms`, async () => {
  const started = Date.now();
  const ws = await rawSocket();
  await ws.expectClose(4408, 'Connection initialisation timeout', initTimeoutMs + 5000);
  const elapsed = Date.now() - started;
  check(elapsed >= initTimeoutMs * 0.9, `closed after ${elapsed} ms, before the ${initTimeoutMs} ms timeout`);
});

test('4409 on a second subscribe with an ID in use', async () => {
  const ws = await rawSocket();
  await ws.init();
  const subscribe = { id: 'dup', type: 'subscribe', payload: { query: SUBSCRIPTION } };
  ws.send(subscribe);
  ws.send(subscribe);
  await ws.expectClose(4409, 'Subscriber for dup already exists');
});

test('4429 on a second connection_init', async () => {
  const ws = await rawSocket();
  await ws.init();
  ws.send({ type: 'connection_init', payload: { authorization: bearer(memberToken) } });
  await ws.expectClose(4429, 'Too many initialisation requests');
});

// ---- runner ------------------------------------------------------------------------------

function describe(err) {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && 'code' in err) return `close ${err.code} "${err.reason ?? ''}"`;
  return JSON.stringify(err);
}

const failures = [];
console.log(`ws conformance against ${wsUrl} (init timeout ${initTimeoutMs} ms)`);
for (const { name, fn } of cases) {
  try {
    await within(initTimeoutMs + 30000, name, fn());
    console.log(`ok   - ${name}`);
  } catch (err) {
    failures.push(name);
    console.log(`FAIL - ${name}: ${describe(err)}`);
  }
}
if (failures.length) {
  console.error(`${failures.length} of ${cases.length} ws conformance cases failed:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
console.log(`all ${cases.length} ws conformance cases passed`);
process.exit(0);
