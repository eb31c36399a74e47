// The session: the access token lives in memory only (never in storage an injected script could
// read); the refresh token is an HttpOnly cookie the server sets when asked with
// `Evently-Session: cookie`. At start-up `restore()` calls /auth/refresh to get a new access
// token silently, and a timer refreshes it before it expires.

export type Role = 'attendee' | 'organizer' | 'admin';
export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: string;
  created_at: string;
}
interface SessionReply {
  access_token: string;
  expires_in: number;
  refresh_token?: string;
  user: SessionUser;
}
export interface SessionState {
  status: 'restoring' | 'anonymous' | 'signed-in';
  user: SessionUser | null;
}

const SESSION_HEADERS = {
  'content-type': 'application/json',
  'Evently-Session': 'cookie',
};

let accessToken: string | null = null;
// Only used when the server does not (yet) speak the cookie mode: kept in memory, never stored.
let fallbackRefresh: string | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
let state: SessionState = { status: 'restoring', user: null };
const listeners = new Set<() => void>();
let refreshing: Promise<boolean> | null = null;

function set(next: SessionState) {
  state = next;
  listeners.forEach((l) => l());
}

export const session = {
  subscribe(listener: () => void) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  get: () => state,
  token: () => accessToken,
};

// The profile (never a token) is remembered so that the door keeps working after an offline
// reload: the page knows who was signed in, and refreshes the token once the network is back.
const PROFILE = 'evently:user';
function remember(user: SessionUser | null) {
  try {
    if (user) localStorage.setItem(PROFILE, JSON.stringify(user));
    else localStorage.removeItem(PROFILE);
  } catch {
    // storage unavailable: nothing remembered
  }
}
function remembered(): SessionUser | null {
  try {
    return JSON.parse(localStorage.getItem(PROFILE) ?? 'null') as SessionUser | null;
  } catch {
    return null;
  }
}

function accept(reply: SessionReply) {
  accessToken = reply.access_token;
  remember(reply.user);
  fallbackRefresh = reply.refresh_token ?? null;
  clearTimeout(timer);
  // Refresh a minute before expiry (or at 80% of short lifetimes).
  const lead = Math.min(60, reply.expires_in * 0.2);
  timer = setTimeout(() => void refresh(), Math.max(5, reply.expires_in - lead) * 1000);
  set({ status: 'signed-in', user: reply.user });
}

function clear() {
  remember(null);
  accessToken = null;
  fallbackRefresh = null;
  clearTimeout(timer);
  set({ status: 'anonymous', user: null });
}

/** Ends the session here without asking the server (the account is gone, and its tokens with it). */
export function forget() {
  clear();
}

export class ProblemError extends Error {
  constructor(
    public status: number,
    public problem: Problem,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: Record<string, string>;
  [key: string]: unknown;
}

export async function readProblem(res: Response): Promise<Problem> {
  try {
    return (await res.json()) as Problem;
  } catch {
    return { title: res.statusText, status: res.status };
  }
}

async function post(path: string, body: unknown): Promise<SessionReply> {
  const res = await fetch(`/api/v1/auth/${path}`, {
    method: 'POST',
    headers: SESSION_HEADERS,
    credentials: 'same-origin',
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new ProblemError(res.status, await readProblem(res));
  return (await res.json()) as SessionReply;
}

export async function login(email: string, password: string) {
  accept(await post('login', { email, password }));
}

export async function register(name: string, email: string, password: string) {
  accept(await post('register', { name, email, password }));
}

/** A new access token from the refresh cookie; false when there is no session to refresh. */
export function refresh(): Promise<boolean> {
  if (!refreshing) {
    refreshing = (async () => {
      try {
        accept(await post('refresh', fallbackRefresh ? { refresh_token: fallbackRefresh } : {}));
        return true;
      } catch (e) {
        const user = remembered();
        if (e instanceof TypeError && user) {
          // Offline: stay signed in without a token; refresh when the network returns.
          accessToken = null;
          set({ status: 'signed-in', user });
          window.addEventListener('online', () => void refresh(), { once: true });
        } else {
          clear();
        }
        return false;
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

export async function restore() {
  await refresh();
}

export async function logout() {
  try {
    await fetch('/api/v1/auth/logout', {
      method: 'POST',
      headers: {
        ...SESSION_HEADERS,
        ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
      },
      credentials: 'same-origin',
      body: JSON.stringify(fallbackRefresh ? { refresh_token: fallbackRefresh } : {}),
    });
  } finally {
    clear();
  }
}
