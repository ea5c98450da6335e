// Structured logs: one JSON line per event. Callers pass identifiers, never credentials.
export type Log = (event: string, fields?: Record<string, unknown>) => void;

export function jsonLog(component: string, out: NodeJS.WritableStream = process.stdout): Log {
  return (event, fields = {}) => {
    out.write(`${JSON.stringify({ ts: new Date().toISOString(), component, event, ...fields })}\n`);
  };
}
