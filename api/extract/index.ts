// Extraction: a KollectProfile compiled once, applied to each watched object to make its Row.
// Pure code (the sha256 in hash.ts is its only Node built-in), imported by the watcher and by
// the validating webhook (compileProfile's field-named errors).
export { compileProfile } from './profile.js';
export type { CompiledProfile, CompileResult, ExtractionStats, FieldError, RowContext } from './profile.js';
export { compileCel, type CelProgram } from './cel.js';
export { compileJsonPath, toRfc9535, type JsonPathProgram } from './jsonpath.js';
export { canonicalJson } from './canonical.js';
export { contentHash } from './hash.js';
export { ALLOW_FULL_EXPORT, DEFAULT_PRUNE, LAST_APPLIED } from './prune.js';
