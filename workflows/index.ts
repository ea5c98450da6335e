// The workflows the operator's worker registers. Deterministic code only: the lint rules in
// eslint.config.js forbid Node built-ins and I/O modules here.
export { inventoryWorkflow } from './inventory.js';
export { collectGarbageWorkflow } from './collect.js';
export { connectionTestWorkflow } from './connection-test.js';
