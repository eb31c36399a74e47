import { useEffect, useState } from 'react';
import { keepPreviousData, useQueries, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import type { EventOut } from '@/lib/api/types';
import { applyLiveTypes } from '@/lib/ticketTypes';

export interface EventFilters {
  q?: string;
  category?: string;
  from?: string;
  to?: string;
  min_price?: number;
  max_price?: number;
  available_only?: boolean;
}

export function useEvents(filters: EventFilters) {
  return useQuery({
    queryKey: ['events', filters],
    queryFn: () => unwrap(api.GET('/api/v1/events', { params: { query: { ...filters, limit: 50 } } })),
    placeholderData: keepPreviousData,
  });
}

const eventQuery = (id: string) => ({
  queryKey: ['event', id],
  queryFn: () => unwrap(api.GET('/api/v1/events/{id}', { params: { path: { id } } })),
});

export function useEvent(id: string) {
  return useQuery(eventQuery(id));
}

/** Starts loading an event before the first render (the event page's data, as early as possible). */
export function prefetchEvent(client: QueryClient, id: string) {
  void client.prefetchQuery(eventQuery(id));
}

export interface LiveAvailability {
  capacity: number;
  sold: number;
  held: number;
  available: number;
  offered?: number;
  ticket_types?: { id: string; available: number }[];
}

/** Follows `/events/{id}/live` and writes each availability into the event's cached copy. */
export function useLiveAvailability(id: string) {
  const client = useQueryClient();
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const source = new EventSource(`/api/v1/events/${id}/live`);
    source.onopen = () => setConnected(true);
    source.onerror = () => setConnected(false);
    source.addEventListener('availability', (e) => {
      const { ticket_types: types, ...live } = JSON.parse((e as MessageEvent<string>).data) as LiveAvailability;
      client.setQueryData<EventOut>(['event', id], (old) =>
        old ? { ...old, capacity: live.capacity, availability: { ...old.availability, ...live } } : old,
      );
      applyLiveTypes(client, id, types);
    });
    return () => source.close();
  }, [id, client]);
  return connected;
}

/** Names of the events with these ids (each fetched once, cached with the event). */
export function useEventNames(ids: string[]) {
  const unique = [...new Set(ids)];
  const results = useQueries({
    queries: unique.map((id) => ({
      queryKey: ['event', id],
      queryFn: () => unwrap(api.GET('/api/v1/events/{id}', { params: { path: { id } } })),
      staleTime: 60_000,
    })),
  });
  const names = new Map<string, string>();
  results.forEach((r, i) => r.data && names.set(unique[i], r.data.name));
  return (id: string) => names.get(id);
}
