import { useSyncExternalStore } from 'react';
import { session } from '@/lib/session';

export function useSession() {
  return useSyncExternalStore(session.subscribe, session.get);
}

export function hasRole(role: string | undefined, ...roles: string[]) {
  return !!role && (role === 'admin' || roles.includes(role));
}
