import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, apiJson, apiRaw, unwrap } from '@/lib/api/client';
import type { EventOut, EventSeatingOut, SeatingPlanOut } from '@/lib/api/types';
import { saveResponse } from '@/lib/download';

export function useVenues() {
  return useQuery({
    queryKey: ['venues'],
    queryFn: () => unwrap(api.GET('/api/v1/venues', { params: { query: { limit: 100 } } })),
  });
}

export function useCreateVenue() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { name: string; address: string; city: string; capacity: number }) =>
      unwrap(api.POST('/api/v1/venues', { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: ['venues'] }),
  });
}

export function useUpdateVenue(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { name: string; address: string; city: string; capacity: number }) =>
      unwrap(api.PATCH('/api/v1/venues/{id}', { params: { path: { id } }, body })),
    onSuccess: () => client.invalidateQueries({ queryKey: ['venues'] }),
  });
}

/** The caller's events (an admin sees every event). */
export function useMyEvents(userId: string | undefined, admin: boolean) {
  return useQuery({
    queryKey: ['my-events', userId],
    enabled: !!userId,
    queryFn: async () => {
      const page = await unwrap(api.GET('/api/v1/events', { params: { query: { limit: 100 } } }));
      return page.items.filter((e: EventOut) => admin || e.organizer_id === userId);
    },
  });
}

export type EventBody = {
  name: string;
  description: string;
  venue_id: string;
  category: string;
  starts_at: string;
  ends_at: string;
  capacity: number;
  price_cents: number;
  currency: string;
  max_per_booking?: number;
  hold_minutes?: number;
};

export function useCreateEvent() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: EventBody) => unwrap(api.POST('/api/v1/events', { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: ['my-events'] }),
  });
}

/** The event as the editor loaded it: its version is the If-Match of the next save. */
export function useEditableEvent(id: string) {
  return useQuery({
    queryKey: ['edit-event', id],
    queryFn: () => unwrap(api.GET('/api/v1/events/{id}', { params: { path: { id } } })),
    staleTime: Infinity,
    refetchOnWindowFocus: false,
  });
}

export function useSaveEvent(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ version, patch }: { version: number; patch: Partial<EventBody> }) =>
      unwrap(
        api.PATCH('/api/v1/events/{id}', {
          params: { path: { id }, header: { 'If-Match': `"${version}"` } },
          body: patch,
        }),
      ),
    onSuccess: (event) => {
      client.setQueryData(['edit-event', id], event);
      void client.invalidateQueries({ queryKey: ['event', id] });
      void client.invalidateQueries({ queryKey: ['my-events'] });
    },
  });
}

export function useCancelEvent(id: string) {
  return useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/events/{id}/cancel', { params: { path: { id } } })),
  });
}

export function useAttendees(id: string, poll = false) {
  return useQuery({
    queryKey: ['attendees', id],
    queryFn: () => unwrap(api.GET('/api/v1/events/{id}/attendees', { params: { path: { id }, query: { limit: 100 } } })),
    refetchInterval: poll ? 1000 : false,
  });
}

export async function downloadCsv(id: string) {
  const res = await apiRaw(`/api/v1/events/${id}/attendees?format=csv`);
  await saveResponse(res, `attendees-${id}.csv`);
}

export type TicketTypeBody = {
  name: string;
  description?: string;
  price_cents: number;
  quota: number;
  max_per_booking?: number;
  hidden?: boolean;
};

/** Adding, editing and deleting an event's ticket types (the list is `useTicketTypes`). */
export function useTicketTypeActions(eventId: string) {
  const client = useQueryClient();
  const refresh = () => client.invalidateQueries({ queryKey: ['ticket-types', eventId] });
  const add = useMutation({
    mutationFn: (body: TicketTypeBody) =>
      unwrap(api.POST('/api/v1/events/{id}/ticket-types', { params: { path: { id: eventId } }, body })),
    onSuccess: refresh,
  });
  const edit = useMutation({
    mutationFn: ({ id, version, patch }: { id: string; version: number; patch: Partial<TicketTypeBody> }) =>
      unwrap(
        api.PATCH('/api/v1/events/{id}/ticket-types/{type_id}', {
          params: { path: { id: eventId, type_id: id }, header: { 'If-Match': `"${version}"` } },
          body: patch,
        }),
      ),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: ({ id, version }: { id: string; version: number }) =>
      unwrap(
        api.DELETE('/api/v1/events/{id}/ticket-types/{type_id}', {
          params: { path: { id: eventId, type_id: id }, header: { 'If-Match': `"${version}"` } },
        }),
      ),
    onSettled: refresh,
  });
  return { add, edit, remove };
}

export type PromoCodeBody = {
  code: string;
  percent_off?: number;
  amount_off_cents?: number;
  max_uses?: number;
  ticket_type_ids?: string[];
};

export function usePromoCodes(eventId: string) {
  return useQuery({
    queryKey: ['promo-codes', eventId],
    queryFn: async () => (await unwrap(api.GET('/api/v1/events/{id}/promo-codes', { params: { path: { id: eventId } } }))).items,
  });
}

export function useAddPromoCode(eventId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: PromoCodeBody) =>
      unwrap(api.POST('/api/v1/events/{id}/promo-codes', { params: { path: { id: eventId } }, body })),
    onSuccess: () => client.invalidateQueries({ queryKey: ['promo-codes', eventId] }),
  });
}

// Seating plans and an event's seating: hand-written calls (`apiJson`) until the generated client
// has the seating API.

export function useSeatingPlans(venueId: string | undefined) {
  return useQuery({
    queryKey: ['seating-plans', venueId],
    enabled: !!venueId,
    queryFn: async () => (await apiJson<{ items: SeatingPlanOut[] }>(`/api/v1/venues/${venueId}/seating-plans`)).items,
  });
}

/** Imports a plan (pretix's seating-plan JSON, sent as it is) for the venue. */
export function useImportPlan(venueId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (plan: unknown) => apiJson<SeatingPlanOut>(`/api/v1/venues/${venueId}/seating-plans`, { method: 'POST', body: plan }),
    onSuccess: () => client.invalidateQueries({ queryKey: ['seating-plans', venueId] }),
  });
}

/** Seats the event on a plan, each category of the plan sold as one of the event's ticket types. */
export function useSetSeating(eventId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { plan_id: string; categories: Record<string, string> }) =>
      apiJson<EventSeatingOut>(`/api/v1/events/${eventId}/seating`, { method: 'PUT', body }),
    onSuccess: () => {
      // The event's seat map (the seating feature's query) and what each type has left.
      void client.invalidateQueries({ queryKey: ['seat-map', eventId] });
      void client.invalidateQueries({ queryKey: ['ticket-types', eventId] });
    },
  });
}
