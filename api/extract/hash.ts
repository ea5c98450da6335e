// The only Node built-in of the extraction module, kept apart so the rest stays portable.
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical.js';

/** sha256 hex of the canonical JSON of a value. */
export const contentHash = (v: unknown): string => createHash('sha256').update(canonicalJson(v)).digest('hex');
