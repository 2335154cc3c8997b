// JobStore and SandboxStore RPCs through the real daemon on postgres.
import { jobRpcSuite } from './jobs-rpcs.js';

jobRpcSuite('postgres');
