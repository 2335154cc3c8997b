// The boot rule for where the daemon may listen (config.ts): loopback needs
// nothing; any other address needs tokens and TLS, or --insecure.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exposureProblem, isLoopback, loadConfig } from '../../src/config.js';

const config = (env: Record<string, string>, argv: string[] = []) => loadConfig({ AGENTSTORE_LOG_LEVEL: 'silent', ...env }, argv).config;

describe('listen exposure', () => {
  it('knows loopback addresses', () => {
    for (const a of ['127.0.0.1:1', '127.1.2.3:50051', 'localhost:1', 'LOCALHOST:1', '[::1]:1']) assert.ok(isLoopback(a), a);
    for (const a of ['0.0.0.0:1', '[::]:1', '10.0.0.1:1', 'example.com:1', '128.0.0.1:1', '[::ffff:127.0.0.1]:1']) assert.ok(!isLoopback(a), a);
  });

  it('needs tokens and TLS off loopback, unless --insecure (flag or AGENTSTORE_INSECURE)', () => {
    assert.equal(exposureProblem(config({})), null);
    assert.match(String(exposureProblem(config({ AGENTSTORE_LISTEN: '0.0.0.0:1' }))), /^AGENTSTORE_LISTEN: .*AGENTSTORE_TOKENS_FILE and AGENTSTORE_TLS_CERT/);
    const both = { AGENTSTORE_LISTEN: '0.0.0.0:1', AGENTSTORE_TOKENS_FILE: 't', AGENTSTORE_TLS_CERT: 'c', AGENTSTORE_TLS_KEY: 'k' };
    assert.equal(exposureProblem(config(both)), null);
    assert.equal(exposureProblem(config({ AGENTSTORE_LISTEN: '0.0.0.0:1' }, ['--insecure'])), null);
    assert.equal(exposureProblem(config({ AGENTSTORE_LISTEN: '0.0.0.0:1', AGENTSTORE_INSECURE: 'true' })), null);
    assert.notEqual(exposureProblem(config({ AGENTSTORE_LISTEN: '0.0.0.0:1', AGENTSTORE_INSECURE: 'false' })), null);
    assert.equal(config({}, ['--insecure', 'serve']).insecure, true);
    assert.deepEqual(loadConfig({}, ['--insecure', 'serve']).rest, ['serve']);
  });
});
