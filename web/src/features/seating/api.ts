// An event's seat map: one query per event (`null` for an event sold without seat numbers), kept
// current by the event's seat stream. Its types are hand-written in `@/lib/api/types` until the
// generated client has the seating API (then these calls move to `api.GET`).
import { useEffect, useState } from 'react';
import { useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { apiJson } from '@/lib/api/client';
import type { SeatChange, SeatMapOut } from '@/lib/api/types';
import { ProblemError } from '@/lib/session';
import { applyChanges } from './seatMap';

export const seatMapKey = (eventId: string) => ['seat-map', eventId] as const;

const seatMapQuery = (eventId: string) => ({
  queryKey: seatMapKey(eventId),
  queryFn: async (): Promise<SeatMapOut | null> => {
    try {
      return await apiJson<SeatMapOut>(`/api/v1/events/${eventId}/seats`);
    } catch (e) {
      if (e instanceof ProblemError && e.status === 404) return null; // not seated
      throw e;
    }
  },
});

/** The event's seats and their status; `null` when the event is not seated. */
export function useSeatMap(eventId: string, enabled = true) {
  return useQuery({ ...seatMapQuery(eventId), enabled });
}

/** Starts loading the seat map with the event (the event page decides its booking form on it). */
export function prefetchSeatMap(client: QueryClient, eventId: string) {
  void client.prefetchQuery(seatMapQuery(eventId));
}

/**
 * Follows `/events/{id}/seats/live` while `enabled` and writes each change into the cached map.
 * The stream sends changes only: on every (re)connect, and on a `reset` (the stream fell behind),
 * the map is fetched again, and the changes that arrive meanwhile are applied to the fresh copy too.
 */
export function useLiveSeats(eventId: string, enabled: boolean) {
  const client = useQueryClient();
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    if (!enabled) return;
    const key = seatMapKey(eventId);
    const apply = (changes: SeatChange[]) =>
      client.setQueryData<SeatMapOut | null>(key, (old) => (old ? applyChanges(old, changes) : old));
    let during: SeatChange[] | null = null;
    // Reads the map again, then applies to it the changes that arrived while it was on its way.
    const resync = () => {
      during = [];
      void client.refetchQueries({ queryKey: key, exact: true }).finally(() => {
        if (during?.length) apply(during);
        during = null;
      });
    };
    const source = new EventSource(`/api/v1/events/${eventId}/seats/live`);
    source.onopen = () => {
      setConnected(true);
      resync();
    };
    // The server fell behind this stream: changes were lost.
    source.addEventListener('reset', resync);
    source.onerror = () => setConnected(false);
    source.addEventListener('seats', (e) => {
      let changes: SeatChange[];
      try {
        changes = (JSON.parse((e as MessageEvent<string>).data) as { changes?: SeatChange[] }).changes ?? [];
      } catch {
        return;
      }
      during?.push(...changes);
      apply(changes);
    });
    return () => {
      source.close();
      setConnected(false);
    };
  }, [eventId, enabled, client]);
  return connected;
}
