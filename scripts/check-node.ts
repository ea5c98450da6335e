// Fails early, naming the fix, when this Node.js is older than package.json's engines allow
// (@kubernetes/client-node's undici needs Node >= 22.19 and fails at import on older releases).
import { readFileSync } from 'node:fs';

const { engines } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
const min = /^>=\s*(\d+)\.(\d+)(?:\.(\d+))?$/.exec(engines.node);
if (!min) throw new Error(`package.json engines.node must read ">=MAJOR.MINOR", got "${engines.node}"`);
const want = min.slice(1).map((n) => Number(n ?? 0));
const have = process.versions.node.split('.').map(Number);
// The first component that differs decides.
const diff = want.map((w, i) => (have[i] ?? 0) - w).find((d) => d !== 0) ?? 0;
if (diff < 0) {
  process.stderr.write(`kollect: Node.js ${process.version} is older than package.json's engines (${engines.node}).\n`
    + '  Install Node.js 24 LTS, or use the one the npm registry ships:\n'
    + '    bash test/harness/provision.sh node && export PATH="$HOME/.cache/kollect/node-v$(. test/harness/versions.env; echo $NODE_VERSION)/bin:$PATH"\n');
  process.exit(1);
}
