// A database with rows in every table of every store, written through the
// store interfaces, with the values a conversion between dialects gets
// wrong first: unicode, a 1 MB message, JSON null beside SQL NULL, decimals
// at the ends of their range, 64-bit counts, embeddings, empty arrays. And
// `readAll`, which calls every read method of every store on it, so two
// databases can be compared by what clients would see.
import { randomUUID } from 'node:crypto';
import type { Config } from '../../src/config.js';
import type { Database } from '../../src/store/database.js';
import { DEFAULT_SEARCH_CONFIG } from '../../src/store/workspace.js';
import { newJob, newSandboxJob } from '../conformance/jobs.js';
import { rawRows } from '../conformance/raw.js';
import { makeRoutine, makeRun } from '../conformance/routines.js';

export const DIM = 8;
export const USER = 'ålice 🎉';
export const USER2 = 'bob';
export const AGENT = '0b6f1c1e-6a4f-4b8e-9d43-5f1e2f3a4b5c';
export const BIG_DECIMAL = '12345678901234.5678';
export const SMALL_DECIMAL = '0.000001';
/** Over 1 MiB of mixed-width characters (whole ones: no surrogate pair is cut). */
export const MEGABYTE = 'ab ü 世界 🎉 '.repeat(Math.ceil((1 << 20) / 13));

export interface Fixture {
  conversations: string[];
  jobs: string[];
  sandboxJobs: string[];
  routines: string[];
  runs: string[];
  documents: string[];
}

export const vector = (seed: number): Float32Array => Float32Array.from({ length: DIM }, (_, i) => Math.sin(seed * 7.3 + i) * (i % 3 === 0 ? 1e-7 : 1));

const ago = (ms: number) => new Date(Math.floor(Date.now() / 1000) * 1000 - ms);

export async function populate(db: Database): Promise<Fixture> {
  const fx: Fixture = { conversations: [], jobs: [], sandboxJobs: [], routines: [], runs: [], documents: [] };

  // Conversations and messages.
  const c1 = await db.createConversation('web', USER, 'thread-ß');
  for (const text of ['hello', 'Grüße, 世界 \u{1F600} — “quotes” \\ backslash', MEGABYTE, 'tab\there\nnewline', "it's 'quoted'"]) {
    await db.addConversationMessage(c1, 'user', text);
    await db.addConversationMessage(c1, 'assistant', `re: ${[...text.slice(0, 40)].slice(0, 20).join('')}`);
  }
  const meta = await db.createConversationWithMetadata('api', USER, { nested: { list: [1, 2.5, -0.125, null, true] }, nul: null, 'ключ': '🎉', big: 1e300 });
  await db.updateConversationMetadataField(meta, 'set_to_null', null);
  await db.updateConversationMetadataField(meta, 'object', { z: 1, a: { b: [false] } });
  const heartbeat = await db.getOrCreateHeartbeatConversation(USER);
  const assistant = await db.getOrCreateAssistantConversation(USER, 'web');
  const routineId = randomUUID();
  const routineConv = await db.getOrCreateRoutineConversation(routineId, 'Daily digest ✓', USER);
  await db.addConversationMessage(routineConv, 'system', 'digest');
  const ensured = randomUUID();
  await db.ensureConversation(ensured, 'cli', USER2, null);
  fx.conversations.push(c1, meta, heartbeat, assistant, routineConv, ensured);

  // Settings: JSON null, nested objects, unicode keys, extreme numbers.
  await db.setSetting(USER, 'theme', 'dark');
  await db.setSetting(USER, 'nothing', null);
  await db.setSetting(USER, 'obj', { z: 1, a: { b: [true, false, null] }, 'ü': 'ß', empty: {}, list: [] });
  await db.setSetting(USER, 'numbers', [1e300, -1e-300, 0, 2 ** 53 - 1, -12.5]);
  await db.setAllSettings(USER2, { 'a.b': 1, 'ключ': 'значение', ' spaced key ': 'x' });

  // Tool failures, one repaired.
  await db.recordToolFailure('shell', 'boom ✗');
  await db.recordToolFailure('shell', 'boom again');
  await db.incrementRepairAttempts('shell');
  await db.recordToolFailure('git', 'fatal: not a repository');
  await db.markToolRepaired('git');

  // Agent jobs with every kind of column, actions, LLM calls, estimates.
  const j1 = newJob({
    userId: USER,
    conversationId: c1,
    category: 'research',
    budget: BIG_DECIMAL,
    budgetToken: 'USDC',
    bidAmount: SMALL_DECIMAL,
    estimatedCost: '0',
    estimatedDurationSecs: 2 ** 40,
    actualCost: SMALL_DECIMAL,
    totalTokensUsed: 2 ** 53 - 1,
    maxTokens: 2 ** 33,
    requesterId: 'req-1',
    createdAt: ago(120_000),
    startedAt: ago(60_000),
    transitions: [{ from: 'pending', to: 'in_progress', timestamp: ago(60_000), reason: 'go ✓' }],
    metadata: null,
    userTimezone: 'Europe/Paris',
    state: 'in_progress',
  });
  const j2 = newJob({ userId: USER, metadata: { k: 'v', n: [null] }, createdAt: ago(90_000) });
  const j3 = newJob({ userId: USER2, createdAt: ago(80_000) });
  for (const j of [j1, j2, j3]) await db.saveJob(j);
  await db.updateJobStatus(j2.jobId, 'failed', 'it broke: ünïcode');
  await db.markJobStuck(j3.jobId);
  await db.saveAction(j1.jobId, {
    id: randomUUID(),
    sequence: 1,
    toolName: 'shell',
    input: { cmd: 'ls -la', env: null },
    outputRaw: 'total 0',
    outputSanitized: undefined,
    sanitizationWarnings: ['trimmed', 'ü'],
    cost: SMALL_DECIMAL,
    durationMs: 2 ** 35,
    success: true,
    error: null,
    executedAt: ago(50_000),
  });
  await db.saveAction(j1.jobId, {
    id: randomUUID(),
    sequence: 2,
    toolName: 'http',
    input: [],
    outputRaw: null,
    outputSanitized: null,
    sanitizationWarnings: [],
    cost: null,
    durationMs: 0,
    success: false,
    error: 'timeout',
    executedAt: ago(40_000),
  });
  await db.recordLlmCall({ jobId: j1.jobId, conversationId: c1, provider: 'anthropic', model: 'claude', inputTokens: 10, outputTokens: 2 ** 33, cost: BIG_DECIMAL, purpose: null });
  await db.recordLlmCall({ jobId: null, conversationId: null, provider: 'openai', model: 'gpt', inputTokens: 0, outputTokens: 0, cost: SMALL_DECIMAL, purpose: 'summary' });
  const est = await db.saveEstimationSnapshot(j1.jobId, 'research', ['shell', 'gït', 'with "quote"', 'back\\slash'], SMALL_DECIMAL, 60, BIG_DECIMAL);
  await db.updateEstimationActuals(est, '1.50', 70, null);
  await db.saveEstimationSnapshot(j2.jobId, 'empty', [], '0', 0, '0');
  fx.jobs.push(j1.jobId, j2.jobId, j3.jobId);

  // Sandbox jobs and job events (with JSON null data).
  const sb = newSandboxJob({ userId: USER, createdAt: ago(30_000) });
  await db.saveSandboxJob(sb);
  await db.updateSandboxJobStatus(sb.id, 'running', null, null, ago(20_000), null);
  await db.updateSandboxJobMode(sb.id, 'claude_code');
  const sb2 = newSandboxJob({ userId: USER2, status: 'completed', success: true, createdAt: ago(25_000), completedAt: ago(10_000) });
  await db.saveSandboxJob(sb2);
  await db.saveJobEvent(sb.id, 'log', { line: 'ünïcode 🎉', n: 1 });
  await db.saveJobEvent(sb.id, 'null', null);
  await db.saveJobEvent(j1.jobId, 'status', [1, 'two', { three: 3 }]);
  fx.sandboxJobs.push(sb.id, sb2.id);

  // Routines of every trigger and action kind, and their runs.
  const r1 = await db.createRoutine(
    makeRoutine({
      userId: USER,
      name: 'Daily ✓',
      description: 'every morning',
      trigger: { kind: 'cron', schedule: '0 30 7 * * MON-FRI', timezone: 'Europe/Berlin' },
      notify: { channel: 'web', user: 'ålice', onAttention: true, onFailure: false, onSuccess: true },
      guardrails: { cooldownSecs: 60, maxConcurrent: 2, dedupWindowSecs: 3600 },
    }),
  );
  const r2 = await db.createRoutine(makeRoutine({ userId: USER, name: 'on deploy', trigger: { kind: 'event', pattern: 'deploy*', channel: null } }));
  const r3 = await db.createRoutine(
    makeRoutine({ userId: USER2, name: 'on push', trigger: { kind: 'system_event', source: 'github', eventType: 'push', filters: { branch: 'main' } }, enabled: false }),
  );
  const r4 = await db.createRoutine(
    makeRoutine({
      userId: USER2,
      name: 'manual',
      trigger: { kind: 'manual' },
      action: { kind: 'full_job', title: 'Audit', description: 'look around', maxIterations: 5, toolPermissions: ['shell'] },
    }),
  );
  await db.updateRoutineRuntime(r1.id, ago(5000), ago(1000), 3, 1, { counter: 1, last: null });
  const run1 = makeRun(r1.id, { startedAt: ago(4000), createdAt: ago(4000) });
  const run2 = makeRun(r1.id, { startedAt: ago(4000), createdAt: ago(4000), triggerType: 'manual', triggerDetail: null });
  const run3 = makeRun(r4.id, { startedAt: ago(3000), createdAt: ago(3000) });
  for (const r of [run1, run2, run3]) await db.createRoutineRun(r);
  await db.completeRoutineRun(run1.id, 'ok', 'done ✓', 2 ** 31 - 1);
  await db.linkRoutineRunToJob(run2.id, j1.jobId);
  fx.routines.push(r1.id, r2.id, r3.id, r4.id);
  fx.runs.push(run1.id, run2.id, run3.id);

  // Workspace: shared and per-agent documents, chunks with and without embeddings.
  const d1 = await db.getOrCreateDocumentByPath(USER, null, 'notes/ideas.md');
  await db.updateDocument(d1.id, `# Ideas\n\n${'The café on Rue Saint-Honoré serves crêpes. '.repeat(50)}`);
  const d2 = await db.getOrCreateDocumentByPath(USER, AGENT, 'notes/ideas.md');
  const d3 = await db.getOrCreateDocumentByPath(USER, null, 'journal/2024/01.md');
  await db.insertChunk(d1.id, 0, 'The café on Rue Saint-Honoré serves crêpes and coffee.', vector(1));
  await db.insertChunk(d1.id, 1, 'Roadmap review: search, sync and backups. Roadmap roadmap.', vector(2));
  await db.insertChunk(d1.id, 2, `${'coffee '.repeat(15_000)}end`, vector(3));
  await db.insertChunk(d2.id, 0, 'An agent-only chunk, not embedded yet.', null);
  const late = await db.insertChunk(d3.id, 0, 'Zürich on the 3rd, München on the 5th.', null);
  await db.updateChunkEmbedding(late, vector(4));
  await db.insertChunk(d3.id, 1, '', null);
  fx.documents.push(d1.id, d2.id, d3.id);
  return fx;
}

/** What every read method of every store returns for the fixture. */
export async function readAll(db: Database, fx: Fixture): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const put = async (name: string, p: Promise<unknown>) => {
    out[name] = await p;
  };
  for (const u of [USER, USER2]) {
    await put(`listConversationsAllChannels ${u}`, db.listConversationsAllChannels(u, 100));
    await put(`listConversationsWithPreview ${u}`, db.listConversationsWithPreview(u, 'web', 100));
    await put(`listSettings ${u}`, db.listSettings(u));
    await put(`getAllSettings ${u}`, db.getAllSettings(u));
    await put(`hasSettings ${u}`, db.hasSettings(u));
    await put(`listSandboxJobsForUser ${u}`, db.listSandboxJobsForUser(u));
    await put(`sandboxJobSummaryForUser ${u}`, db.sandboxJobSummaryForUser(u));
    await put(`listRoutines ${u}`, db.listRoutines(u));
  }
  for (const c of fx.conversations) {
    await put(`listConversationMessages ${c}`, db.listConversationMessages(c));
    await put(`getConversationMetadata ${c}`, db.getConversationMetadata(c));
    await put(`conversationBelongsToUser ${c}`, db.conversationBelongsToUser(c, USER));
    const first = await db.listConversationMessagesPaginated(c, null, 3);
    out[`page1 ${c}`] = first;
    const oldest = first.messages.at(-1);
    if (first.hasMore && oldest) await put(`page2 ${c}`, db.listConversationMessagesPaginated(c, { createdAt: oldest.createdAt, seq: oldest.seq }, 3));
  }
  for (const k of ['theme', 'nothing', 'obj', 'numbers', 'absent']) {
    await put(`getSetting ${k}`, db.getSetting(USER, k));
    await put(`getSettingFull ${k}`, db.getSettingFull(USER, k));
  }
  await put('getBrokenTools', db.getBrokenTools(1));
  for (const j of fx.jobs) {
    await put(`getJob ${j}`, db.getJob(j));
    await put(`getAgentJobFailureReason ${j}`, db.getAgentJobFailureReason(j));
    await put(`getJobActions ${j}`, db.getJobActions(j));
    await put(`listJobEvents ${j}`, db.listJobEvents(j, null));
  }
  await put('listAgentJobs', db.listAgentJobs());
  await put('agentJobSummary', db.agentJobSummary());
  await put('getStuckJobs', db.getStuckJobs());
  for (const s of fx.sandboxJobs) {
    await put(`getSandboxJob ${s}`, db.getSandboxJob(s));
    await put(`getSandboxJobMode ${s}`, db.getSandboxJobMode(s));
    await put(`sandboxJobBelongsToUser ${s}`, db.sandboxJobBelongsToUser(s, USER));
    await put(`listJobEvents ${s}`, db.listJobEvents(s, null));
  }
  await put('listSandboxJobs', db.listSandboxJobs());
  await put('sandboxJobSummary', db.sandboxJobSummary());
  for (const r of fx.routines) {
    const routine = await db.getRoutine(r);
    out[`getRoutine ${r}`] = routine;
    await put(`getRoutineByName ${r}`, db.getRoutineByName(routine!.userId, routine!.name));
    await put(`listRoutineRuns ${r}`, db.listRoutineRuns(r, 100));
    await put(`countRunningRoutineRuns ${r}`, db.countRunningRoutineRuns(r));
  }
  out.countRunningRoutineRunsBatch = Object.fromEntries(await db.countRunningRoutineRunsBatch(fx.routines));
  await put('listAllRoutines', db.listAllRoutines());
  await put('listEventRoutines', db.listEventRoutines());
  await put('listDueCronRoutines', db.listDueCronRoutines());
  await put('listDispatchedRoutineRuns', db.listDispatchedRoutineRuns());
  for (const d of fx.documents) await put(`getDocumentById ${d}`, db.getDocumentById(d));
  for (const agent of [null, AGENT]) {
    await put(`getDocumentByPath ${agent}`, db.getDocumentByPath(USER, agent, 'notes/ideas.md'));
    await put(`listDirectory root ${agent}`, db.listDirectory(USER, agent, ''));
    await put(`listDirectory notes ${agent}`, db.listDirectory(USER, agent, 'notes'));
    await put(`listAllPaths ${agent}`, db.listAllPaths(USER, agent));
    await put(`listDocuments ${agent}`, db.listDocuments(USER, agent));
    await put(`getChunksWithoutEmbeddings ${agent}`, db.getChunksWithoutEmbeddings(USER, agent, 100));
  }
  for (const q of ['café crêpes', 'roadmap', 'coffee', 'zürich', 'no such word']) {
    await put(`fts ${q}`, db.hybridSearch(USER, null, q, null, { ...DEFAULT_SEARCH_CONFIG, useVector: false }));
    await put(`hybrid ${q}`, db.hybridSearch(USER, null, q, vector(2), DEFAULT_SEARCH_CONFIG));
  }
  await put('vector', db.hybridSearch(USER, null, '', vector(4), { ...DEFAULT_SEARCH_CONFIG, useFts: false }));
  return out;
}

/** Rows no read method returns (LLM calls, estimation snapshots), read directly from a libSQL file. */
export async function unreadRows(config: Config): Promise<Record<string, unknown>[][]> {
  return [
    await rawRows(config, 'SELECT * FROM llm_calls ORDER BY id', ''),
    (await rawRows(config, 'SELECT * FROM estimation_snapshots ORDER BY id', '')).map((r) => ({ ...r, tool_names: JSON.parse(r.tool_names as string) as unknown })),
  ];
}
