// An event's ticket types, shared by the booking form and the organiser's console: one query per
// event, kept current by the event's live stream (each type's `available`).
import { useQuery, type QueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import type { TicketTypeOut } from '@/lib/api/types';

export const ticketTypesKey = (eventId: string) => ['ticket-types', eventId] as const;

/** The event's ticket types; with a promo code, also the hidden ones it unlocks. */
export function useTicketTypes(eventId: string, promoCode?: string) {
  return useQuery({
    queryKey: [...ticketTypesKey(eventId), promoCode ?? ''],
    queryFn: async () =>
      (await unwrap(
        api.GET('/api/v1/events/{id}/ticket-types', {
          params: { path: { id: eventId }, query: promoCode ? { promo_code: promoCode } : {} },
        }),
      )).items as TicketTypeOut[],
    retry: false,
  });
}

/** Writes the live stream's per-type `available` into the cached list. */
export function applyLiveTypes(client: QueryClient, eventId: string, live: { id: string; available: number }[] | undefined) {
  if (!live?.length) return;
  client.setQueriesData<TicketTypeOut[]>({ queryKey: ticketTypesKey(eventId) }, (old) =>
    old?.map((t) => {
      const now = live.find((l) => l.id === t.id);
      return now ? { ...t, available: now.available } : t;
    }),
  );
}
