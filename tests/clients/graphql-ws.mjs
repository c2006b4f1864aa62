// The real `graphql-ws` client against a running Scorebord server: live subscriptions
// (leaderboardChanged, scoreChanged), errors of one subscription, keep-alive, lazy connect and
// close, and reconnecting with resubscription after the connection is dropped.
//
// Environment (set by tests/tests/api/real_clients.rs): SCOREBORD_URL, REP_TOKEN, REP_ID,
// OUTBOUND_TEAM_ID, INBOUND_TEAM_ID, ACTIVITY_TYPE_ID (a COUNT type worth 3 points).
// Prints one line per check; exits 1 when any failed.

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { bearer, check, environment, equal, logActivity, operationText, sleep, suite, until } from './lib.mjs';

const env = environment(['REP_TOKEN', 'REP_ID', 'OUTBOUND_TEAM_ID', 'INBOUND_TEAM_ID', 'ACTIVITY_TYPE_ID']);
const POINTS = 3;
const outboundBoard = { input: { period: { grain: 'WEEK' }, teamId: env.OUTBOUND_TEAM_ID } };

/** A graphql-ws client for the rep that records its lifecycle events. */
function client(options = {}) {
  const seen = { connected: 0, opened: [], closed: [], pongs: 0 };
  const c = createClient({
    url: env.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: bearer(env.REP_TOKEN) },
    retryAttempts: 0,
    on: {
      opened: (socket) => seen.opened.push(socket),
      connected: () => {
        seen.connected += 1;
      },
      closed: (event) => seen.closed.push(event?.code),
      pong: () => {
        seen.pongs += 1;
      },
    },
    ...options,
  });
  return { client: c, seen };
}

/** Subscribes to a named operation and records what arrives. */
function watch(c, name, variables) {
  const sub = { events: [], errors: [], completed: false };
  sub.unsubscribe = c.subscribe(
    { query: operationText(name), operationName: name, variables },
    {
      next: (value) => (value.errors ? sub.errors.push(value.errors) : sub.events.push(value.data)),
      error: (err) => sub.errors.push(err),
      complete: () => {
        sub.completed = true;
      },
    },
  );
  /** Waits for an event after the first `from` that satisfies `accept`; returns it. */
  sub.next = async (what, accept = () => true, from = 0, ms = 10000) => {
    let found;
    await until(ms, what, () => {
      if (sub.errors.length) throw new Error(`${name} failed: ${JSON.stringify(sub.errors)}`);
      found = sub.events.slice(from).find(accept);
      return found !== undefined;
    });
    return found;
  };
  return sub;
}

const repPoints = (data) => data.leaderboardChanged.entries.find((e) => e.member?.id === env.REP_ID)?.points;

/** Logs activities until `sub` has an event past `from` (there is no "subscribed" message). */
async function logUntilEvent(sub, from, logged = []) {
  const deadline = Date.now() + 10000;
  while (sub.events.length <= from) {
    check(Date.now() < deadline, 'no event within 10 s of logging activities');
    logged.push(await logActivity(env, env.REP_TOKEN, env.ACTIVITY_TYPE_ID, env.REP_ID));
    for (let waited = 0; sub.events.length <= from && waited < 400; waited += 10) await sleep(10);
  }
  return logged;
}

const { test, run } = suite('graphql-ws');

test('leaderboardChanged: the current board at once, then the new board after logActivity', async () => {
  const { client: c } = client();
  try {
    const board = watch(c, 'Board', outboundBoard);
    const first = await board.next('the current board');
    const before = repPoints(first);
    check(typeof before === 'number', `the rep is not on the Outbound board: ${JSON.stringify(first)}`);
    check(first.leaderboardChanged.totalEntries >= 2, `expected the rep and the manager: ${JSON.stringify(first)}`);
    await logActivity(env, env.REP_TOKEN, env.ACTIVITY_TYPE_ID, env.REP_ID);
    const updated = await board.next('the board after logActivity', (d) => repPoints(d) === before + POINTS, 1);
    equal(updated.leaderboardChanged.entries[0].member.id, env.REP_ID, 'leader after logging');
    board.unsubscribe();
  } finally {
    await c.dispose();
  }
});

test('scoreChanged(memberId): the change with its pointsDelta, activity and new score', async () => {
  const { client: c } = client();
  try {
    const scores = watch(c, 'ScoreChanged', { memberId: env.REP_ID });
    const logged = await logUntilEvent(scores, 0);
    const change = scores.events[0].scoreChanged;
    equal(change.pointsDelta, POINTS, 'pointsDelta');
    equal(change.member.id, env.REP_ID, 'member');
    check(
      logged.some((a) => a.id === change.activity.id),
      `activity ${change.activity.id} is none of those logged`,
    );
    equal(change.activity.points, POINTS, 'activity points');
    check(change.score.points >= POINTS, `score after the change: ${change.score.points}`);
    scores.unsubscribe();
  } finally {
    await c.dispose();
  }
});

test('two subscriptions on one socket; unsubscribing one stops only its events', async () => {
  const { client: c, seen } = client();
  try {
    const kept = watch(c, 'Board', outboundBoard);
    const dropped = watch(c, 'Board', outboundBoard);
    const first = await kept.next('the first board');
    await dropped.next('the second board');
    dropped.unsubscribe();
    const before = repPoints(first);
    await sleep(100);
    const droppedCount = dropped.events.length;
    await logActivity(env, env.REP_TOKEN, env.ACTIVITY_TYPE_ID, env.REP_ID);
    await kept.next('the board after logActivity', (d) => repPoints(d) === before + POINTS, 1);
    await sleep(300);
    equal(dropped.events.length, droppedCount, 'events after unsubscribing');
    equal(seen.connected, 1, 'connections');
    kept.unsubscribe();
  } finally {
    await c.dispose();
  }
});

test('a refused subscription (FORBIDDEN board) errors alone; the connection stays up', async () => {
  const { client: c, seen } = client();
  try {
    const live = watch(c, 'Board', outboundBoard);
    await live.next('the Outbound board');
    const refused = watch(c, 'Board', { input: { period: { grain: 'WEEK' }, teamId: env.INBOUND_TEAM_ID } });
    await until(10000, 'an error for the Inbound board', () => refused.errors.length > 0);
    const codes = refused.errors.flat().map((e) => e?.extensions?.code);
    check(codes.includes('FORBIDDEN'), `expected FORBIDDEN, got ${JSON.stringify(refused.errors)}`);
    equal(refused.events.length, 0, 'events of the refused subscription');
    // The same socket still answers.
    const results = [];
    for await (const result of c.iterate({ query: operationText('Ping') })) results.push(result);
    equal(results, [{ data: { __typename: 'Query' } }], 'query over the same socket');
    equal(seen.connected, 1, 'connections');
    equal(seen.closed, [], 'close events');
    live.unsubscribe();
  } finally {
    await c.dispose();
  }
});

test('keepAlive: the client pings and the server answers pong', async () => {
  const { client: c, seen } = client({ keepAlive: 100, lazy: false, onNonLazyError: () => {} });
  try {
    await until(10000, 'three pongs', () => seen.pongs >= 3);
    equal(seen.connected, 1, 'connections');
  } finally {
    await c.dispose();
  }
});

test('lazy: connects on the first subscribe, closes 1000 after the last unsubscribe', async () => {
  const { client: c, seen } = client({ lazy: true, lazyCloseTimeout: 0 });
  try {
    await sleep(200);
    equal(seen.opened.length, 0, 'sockets opened before subscribing');
    const board = watch(c, 'Board', outboundBoard);
    await board.next('the board');
    equal(seen.connected, 1, 'connections');
    board.unsubscribe();
    await until(10000, 'the lazy close', () => seen.closed.length > 0);
    equal(seen.closed, [1000], 'close codes');
  } finally {
    await c.dispose();
  }
});

/** Drops the connection with `drop`, then expects reconnect, resubscribe and live events. */
async function reconnects(drop, expectedCloseCode) {
  const { client: c, seen } = client({ retryAttempts: 5, retryWait: () => sleep(50) });
  try {
    const board = watch(c, 'Board', outboundBoard);
    const scores = watch(c, 'ScoreChanged', { memberId: env.REP_ID });
    const first = await board.next('the board');
    // Under load the first scoreChanged can take longer than one wait, so several activities may be
    // logged: the board must show all of them before the drop.
    const loggedBefore = await logUntilEvent(scores, 0);
    const before = repPoints(first) + POINTS * loggedBefore.length;
    await board.next('the board after logging', (d) => repPoints(d) === before, 1);
    equal(seen.connected, 1, 'connections before the drop');
    const boardsSeen = board.events.length;
    const scoresSeen = scores.events.length;

    drop(c, seen);
    await until(10000, 'the close event', () => seen.closed.length > 0);
    equal(seen.closed[0], expectedCloseCode, 'close code');
    await until(10000, 'a second connection_ack', () => seen.connected === 2);
    // Resubscribed: leaderboardChanged sends the current board again on the new socket.
    const again = await board.next('the board after resubscribing', () => true, boardsSeen);
    equal(repPoints(again), before, 'rep points after resubscribing');

    // scoreChanged is live again too (no message says when: log until one arrives).
    const logged = await logUntilEvent(scores, scoresSeen);
    equal(scores.events[scoresSeen].scoreChanged.pointsDelta, POINTS, 'pointsDelta after reconnecting');
    const total = before + POINTS * logged.length;
    await board.next('the board after reconnecting and logging', (d) => repPoints(d) === total, boardsSeen + 1);
    check(!board.completed && !scores.completed, 'a subscription completed across the reconnect');
    equal(board.errors.concat(scores.errors), [], 'subscription errors');
    equal(seen.opened.length, 2, 'sockets opened');
    board.unsubscribe();
    scores.unsubscribe();
  } finally {
    await c.dispose();
  }
}

test('reconnect after client.terminate() (4499): resubscribes and receives the next events', () =>
  reconnects((c) => c.terminate(), 4499));

test('reconnect after the TCP connection drops (1006): resubscribes and receives the next events', () =>
  reconnects((_, seen) => seen.opened[0].terminate(), 1006));

await run();
