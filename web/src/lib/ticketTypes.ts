// An event's ticket types, shared by the booking form and the organiser's console: one query per
// event, kept current by the event's live stream (each type's `available`).
import { useState } from 'react';
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

/**
 * A booking form's promo code: what is typed, the code applied, and the ticket types to offer
 * (with the hidden ones the code unlocks; the public ones when it unlocks nothing, its error then
 * shown by its field).
 */
export function usePromo(eventId: string) {
  const [code, setCode] = useState('');
  const [applied, setApplied] = useState<string>();
  const types = useTicketTypes(eventId, applied);
  const publicTypes = useTicketTypes(eventId);
  return {
    code,
    setCode,
    applied,
    apply: () => setApplied(code.trim() || undefined),
    kinds: (types.isError ? publicTypes.data : types.data) ?? [],
    error: types.error,
    loading: types.isLoading,
  };
}

export type Promo = ReturnType<typeof usePromo>;
