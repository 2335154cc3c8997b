// Released migrations are immutable: their checksums are pinned in
// migrations.lock.json. Adding a migration means adding its line there;
// changing a released file fails this test (and, at boot, the daemon refuses
// a database that applied the old text). Both dialects carry the same
// versions under the same names.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadMigrations, pending, projectRoot, sha256 } from '../src/backends/migrations.js';
import { StoreError } from '../src/store/errors.js';

const lock = JSON.parse(readFileSync(join(projectRoot(), 'migrations.lock.json'), 'utf8')) as Record<string, string>;

describe('migration files', () => {
  for (const folder of ['schema-libsql', 'migrations-pg'] as const) {
    it(`${folder}: every file is pinned and unchanged`, () => {
      const files = loadMigrations(folder);
      assert.ok(files.length > 0);
      for (const m of files) {
        const key = `${folder}/V${m.version}__${m.name}.sql`;
        assert.ok(lock[key], `${key} is not in migrations.lock.json: add "${key}": "${m.checksum}"`);
        assert.equal(m.checksum, lock[key], `${key} changed after release: put the change in a new migration instead`);
      }
      for (const key of Object.keys(lock).filter((k) => k.startsWith(`${folder}/`))) {
        assert.ok(files.some((m) => key === `${folder}/V${m.version}__${m.name}.sql`), `${key} is pinned but missing`);
      }
    });
  }

  it('both dialects have the same versions and names', () => {
    const names = (f: 'schema-libsql' | 'migrations-pg') => loadMigrations(f).map((m) => `V${m.version}__${m.name}`);
    assert.deepEqual(names('schema-libsql'), names('migrations-pg'));
  });

  it('refuses a changed applied migration and a newer database', () => {
    const known = [{ version: 1, name: 'initial', sql: 'x', checksum: sha256('x') }];
    assert.deepEqual(pending(known, []), known);
    assert.deepEqual(pending(known, [{ version: 1, name: 'initial', checksum: sha256('x') }]), []);
    assert.throws(
      () => pending(known, [{ version: 1, name: 'initial', checksum: sha256('y') }]),
      (e: unknown) => e instanceof StoreError && /V1__initial was changed after it was applied/.test(e.message),
    );
    assert.throws(
      () => pending(known, [{ version: 1, name: 'initial', checksum: sha256('x') }, { version: 2, name: 'later', checksum: 'z' }]),
      (e: unknown) => e instanceof StoreError && /newer|upgrade agentstore/.test(e.message),
    );
  });
});
