// The `libsql` driver, loaded with its own log output off. Its native part
// logs through Rust tracing, configured from RUST_LOG once, when it loads:
// those lines go to stdout as plain text (they would break the JSON log) and,
// at debug levels, could carry request details of the embedded replica. So
// RUST_LOG is set before the first load, which is why this module requires
// the driver rather than importing it (imports would be evaluated first).
import { createRequire } from 'node:module';

process.env.RUST_LOG = 'off';
const require = createRequire(import.meta.url);

export const Database = require('libsql') as typeof import('libsql');
/** The same native handles, with promise-returning methods (the embedded replica's sync). */
export const PromiseDatabase = require('libsql/promise') as typeof import('libsql/promise');
export type Driver = InstanceType<typeof Database>;
