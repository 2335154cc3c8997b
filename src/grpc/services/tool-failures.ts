// ToolFailureStore over gRPC: decode → store → encode.
import { ToolFailureStore } from '../../gen/agentstore/v1/tool_failures_pb.js';
import type { BrokenTool } from '../../store/tool-failures.js';
import type { ServiceImpl } from '../bridge.js';
import type { StoresFor } from '../stores.js';
import { int, ts, valueFromJson } from '../convert.js';

const tool = (t: BrokenTool) => ({
  name: t.name,
  failureCount: BigInt(t.failureCount),
  lastError: t.lastError ?? undefined,
  firstFailure: ts(t.firstFailure),
  lastFailure: ts(t.lastFailure),
  lastBuildResult: t.lastBuildResult === undefined ? undefined : valueFromJson(t.lastBuildResult),
  repairAttempts: BigInt(t.repairAttempts),
});

export const toolFailureService = (stores: StoresFor): ServiceImpl<typeof ToolFailureStore.method> => {
  return {
    recordToolFailure: async (r, ctx) => {
      await stores(ctx).recordToolFailure(r.toolName, r.errorMessage);
      return {};
    },
    getBrokenTools: async (r, ctx) => ({ tools: (await stores(ctx).getBrokenTools(int('threshold', r.threshold))).map(tool) }),
    markToolRepaired: async (r, ctx) => {
      await stores(ctx).markToolRepaired(r.toolName);
      return {};
    },
    incrementRepairAttempts: async (r, ctx) => {
      await stores(ctx).incrementRepairAttempts(r.toolName);
      return {};
    },
  };
};
