// Extraction: a KollectProfile compiled once, applied to each watched object to make its Row.
// Pure code (the sha256 in hash.ts is its only Node built-in; sandbox.ts, the worker pool the
// watcher evaluates profiles in, is the Node-only part), imported by the watcher and by the
// validating webhook (compileProfile's field-named errors).
export { compileProfile } from './profile.js';
export type { CompiledProfile, CompileResult, ExtractionStats, FieldError, RowContext } from './profile.js';
export { compileCel, type CelProgram } from './cel.js';
export { compileJsonPath, toRfc9535, type JsonPathProgram } from './jsonpath.js';
export { canonicalJson } from './canonical.js';
export { contentHash } from './hash.js';
export { ALLOW_FULL_EXPORT, ALWAYS_PRUNE, DEFAULT_PRUNE, LAST_APPLIED } from './prune.js';
export { DEFAULT_LIMITS, ExtractionLimitError, RowQuarantinedError, extractionLimitsFromEnv, type ExtractionLimits } from './limits.js';
export { ExtractionPool, type RowOutcome, type SandboxProfile } from './sandbox.js';
export { sensitivePolicyFromEnv, sensitiveRefusal, type SensitivePolicy } from './sensitive.js';
