// A backend instance called the way the export activity calls it: through the shared sink path
// (activities/sinks/run.ts), which redacts, names the sink and logs what the backend throws.
import type { SinkDescriptor } from '../../../activities/sinks/descriptor.js';
import { runExport, runProbe } from '../../../activities/sinks/run.js';
import type { SinkBackend } from '../../../activities/sinks/types.js';

/** `backend`, with export() and probe() routed through runExport/runProbe as descriptor `d`'s backend. */
export function viaSharedPath<B extends SinkBackend<never>>(d: SinkDescriptor<never>, backend: B): B {
  const desc = { ...d, backend } as SinkDescriptor<never>;
  return new Proxy(backend, {
    get(target, prop, receiver) {
      if (prop === 'export') return (input: Parameters<B['export']>[0], ctx: Parameters<B['export']>[1]) => runExport(desc, input, ctx);
      if (prop === 'probe') return (ctx: Parameters<B['export']>[1]) => runProbe(desc, ctx);
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
