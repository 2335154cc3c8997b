// JobStore and SandboxStore RPCs through the real daemon on libsql.
import { jobRpcSuite } from './jobs-rpcs.js';

jobRpcSuite('libsql');
