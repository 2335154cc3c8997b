// Tokens for tests: random tokens, and a tokens file that holds only their
// SHA-256, as an operator would write it (README "Authentication and isolation").
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const sha256 = (token: string): string => createHash('sha256').update(token).digest('hex');

/** `authorization` metadata for a token. */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/**
 * Writes a tokens file with one token per entry: a user id, or null for a
 * service token. Returns the file and entry name → token.
 */
export function writeTokensFile(entries: Record<string, string | null>, dir = mkdtempSync(join(tmpdir(), 'agentstore-tokens-'))): { file: string; tokens: Record<string, string> } {
  const tokens: Record<string, string> = {};
  const list = Object.entries(entries).map(([name, userId]) => {
    const token = randomBytes(24).toString('base64url');
    tokens[name] = token;
    return userId === null ? { name, sha256: sha256(token), service: true } : { name, sha256: sha256(token), user_id: userId };
  });
  const file = join(dir, 'tokens.json');
  writeFileSync(file, JSON.stringify({ tokens: list }, null, 2));
  return { file, tokens };
}
