// Per-user isolation of every RPC through the real daemon on libsql.
import { isolationSuite } from './isolation.js';

isolationSuite('libsql');
