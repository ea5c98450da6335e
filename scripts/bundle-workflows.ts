// `npm run bundle:workflows [-- out.js]`: bundles the workflow code once (webpack) into
// dist/workflow-bundle.js. An operator given the bundle (KOLLECT_WORKFLOW_BUNDLE, or the compiled
// operator finding it next to itself) starts faster and does not carry webpack in its memory.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'workflow-bundle.js'));
const { code } = await bundleWorkflowCode({ workflowsPath: path.join(root, 'workflows', 'index.ts') });
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, code);
process.stdout.write(`wrote ${out} (${(code.length / 1024).toFixed(0)} KiB)\n`);
