// Per-user isolation of every RPC through the real daemon on postgres.
import { isolationSuite } from './isolation.js';

isolationSuite('postgres');
