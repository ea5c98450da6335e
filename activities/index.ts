// Activities are built by a factory that takes their dependencies, so tests inject real clients.
// Sink exports and status patching arrive with the core pipeline.
export interface ActivityDeps {
  log: (event: string, fields?: Record<string, unknown>) => void;
}

export function createActivities(_deps: ActivityDeps): Record<string, (...args: never[]) => Promise<unknown>> {
  return {};
}
