// The one configured API client: generated types (schema.d.ts, from the served OpenAPI document),
// the bearer token from the in-memory session, one silent refresh and retry on a 401.
import createClient from 'openapi-fetch';
import type { paths } from './schema';
import { ProblemError, readProblem, refresh, session } from '@/lib/session';

export async function authFetch(input: Request): Promise<Response> {
  const retry = input.clone();
  const token = session.token();
  if (token) input.headers.set('authorization', `Bearer ${token}`);
  const res = await fetch(input);
  if (res.status === 401 && (token || session.get().user) && (await refresh())) {
    retry.headers.set('authorization', `Bearer ${session.token()}`);
    return fetch(retry);
  }
  return res;
}

export const api = createClient<paths>({
  // Same origin (the page's; absolute so that the client also runs outside a page, in tests).
  baseUrl: typeof location !== 'undefined' ? location.origin : '',
  fetch: authFetch,
  credentials: 'same-origin',
});

/** The data of an openapi-fetch answer, or a ProblemError carrying the problem+json document. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || error !== undefined) {
    const problem =
      error && typeof error === 'object'
        ? (error as Record<string, unknown>)
        : { title: response.statusText, status: response.status };
    throw new ProblemError(response.status, problem);
  }
  return data as T;
}

/** A plain fetch of an API path with the session's token (for blobs, CSV, streams). */
export async function apiRaw(path: string, init: RequestInit = {}): Promise<Response> {
  const res = await authFetch(new Request(path, { credentials: 'same-origin', ...init }));
  if (!res.ok) throw new ProblemError(res.status, await readProblem(res));
  return res;
}

/**
 * A JSON call of an API path the generated client does not have yet (the seating API, its types
 * hand-written in `types.ts`): the data, or a ProblemError. Move such calls to `api` once
 * schema.d.ts has their paths.
 */
export async function apiJson<T>(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const { body, ...rest } = init;
  const res = await apiRaw(path, {
    ...rest,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  return (await res.json()) as T;
}
