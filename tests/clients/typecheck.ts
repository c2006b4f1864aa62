// Uses the generated types the way a typed client would; `tsc -p tsconfig.json` (run by
// codegen.mjs) must accept it. Each @ts-expect-error line must BE an error, so the
// generated types are as strict as the schema (tsc fails on an unused @ts-expect-error).
import type {
  ChangeMemberEmailMutation,
  LeaderboardInput,
  LogActivityMutationVariables,
  MemberByIdQuery,
  MemberByIdQueryVariables,
  NodeByIdQuery,
  Role,
  ScoreChangedSubscription,
} from './generated/graphql';

const variables: MemberByIdQueryVariables = { id: 'TWVtYmVyOjE' };
// @ts-expect-error the id is required
const missingId: MemberByIdQueryVariables = {};

const result: MemberByIdQuery = {
  member: { id: variables.id, name: 'Rep', email: 'rep@acme.test', role: 'REP', team: null },
};
const role: Role = result.member.role;
// @ts-expect-error Role is an enum of the schema, not any string
const notARole: Role = 'OWNER';
// @ts-expect-error member.team is nullable: it must be checked before use
const teamName: string = result.member.team.name;

function refusedEmail(payload: ChangeMemberEmailMutation['updateMember']): string[] {
  // member is null when refused; userErrors is always there.
  return payload.member ? [] : payload.userErrors.map((e) => `${e.field.join('.')}: ${e.code}`);
}

function pointsDelta(event: ScoreChangedSubscription): number {
  return event.scoreChanged.pointsDelta;
}

function nodeName(data: NodeByIdQuery): string | undefined {
  // `node` is nullable: null for what is gone or out of reach.
  const node = data.node;
  return node?.__typename === 'Member' || node?.__typename === 'Team' ? node.name : undefined;
}

const log: LogActivityMutationVariables = { input: { activityTypeId: 'x', quantity: 2 } };
// @ts-expect-error quantity is an Int
const badLog: LogActivityMutationVariables = { input: { activityTypeId: 'x', quantity: '2' } };
const board: LeaderboardInput = { period: { grain: 'WEEK' }, subject: 'MEMBERS', metric: 'POINTS', first: 10 };

export const used = [missingId, role, notARole, teamName, refusedEmail, pointsDelta, nodeName, log, badLog, board];
