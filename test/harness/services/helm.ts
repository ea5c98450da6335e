// helm is a client only: "starting" it checks the binary runs.
import { type ServiceDef } from '../service.js';
import { run } from '../util.js';
import { tools } from '../tools.js';

export const helm: ServiceDef<'helm'> = {
  name: 'helm',
  async start(ctx) {
    const bin = tools.helm();
    const version = (await run(bin, ['version', '--short'])).trim();
    return { endpoint: { bin }, version: `helm ${version}`, logFile: `${ctx.runDir}/helm.log`, async stop() {}, async start() {} };
  },
};
