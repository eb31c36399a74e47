// An event's ticket types, shared by the booking form and the organiser's console: one query per
// event, kept current by the event's live stream (each type's `available`).
import { useQuery, type QueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import type { TicketTypeOut } from '@/lib/api/types';

export const ticketTypesKey = (eventId: string) => ['ticket-types', eventId] as const;

export function useTicketTypes(eventId: string) {
  return useQuery({
    queryKey: ticketTypesKey(eventId),
    queryFn: async () =>
      (await unwrap(api.GET('/api/v1/events/{id}/ticket-types', { params: { path: { id: eventId } } }))).items as TicketTypeOut[],
  });
}

/** Writes the live stream's per-type `available` into the cached list. */
export function applyLiveTypes(client: QueryClient, eventId: string, live: { id: string; available: number }[] | undefined) {
  if (!live?.length) return;
  client.setQueryData<TicketTypeOut[]>(ticketTypesKey(eventId), (old) =>
    old?.map((t) => {
      const now = live.find((l) => l.id === t.id);
      return now ? { ...t, available: now.available } : t;
    }),
  );
}
