// Helpers for tests that talk to the harness's GitLab fake: its REST API over HTTPS trusting only
// its per-run CA, and projects backed by bare repos of the git service.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { service } from '../harness/endpoints.js';

export interface ApiResponse<T> { status: number; body: T; headers: Record<string, string | string[] | undefined> }

/**
 * One API call: `route` under /api/v4; `token` null sends none, a string sends that one, default
 * the member token. `json` or `form` becomes the body.
 */
export function gitlabApi<T = Record<string, unknown>>(method: string, route: string, opts: { json?: object; form?: Record<string, string>; token?: string | null; headers?: Record<string, string> } = {}): Promise<ApiResponse<T>> {
  const ep = service('gitlab');
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== null && !opts.headers?.authorization) headers['PRIVATE-TOKEN'] = opts.token ?? ep.token;
  let body: string | undefined;
  if (opts.json) { headers['Content-Type'] = 'application/json'; body = JSON.stringify(opts.json); }
  if (opts.form) { headers['Content-Type'] = 'application/x-www-form-urlencoded'; body = new URLSearchParams(opts.form).toString(); }
  return new Promise((resolve, reject) => {
    const req = https.request(`${ep.apiUrl}${route}`, { method, headers, ca: readFileSync(ep.caFile) }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => {
        let parsed: unknown = text;
        try { parsed = JSON.parse(text); } catch { /* not JSON: kept as text */ }
        resolve({ status: res.statusCode ?? 0, body: parsed as T, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The URL-encoded path of a project, as the API takes it in :id. */
export const projectId = (path: string): string => encodeURIComponent(path);
