import { useEffect, useRef } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import type { BookingOut } from '@/lib/api/types';
import { newIdempotencyKey } from '@/lib/idempotency';

async function withRetry<T>(call: () => Promise<T>): Promise<T> {
  // A network failure (no answer) is retried with the same Idempotency-Key: it books once.
  try {
    return await call();
  } catch (e) {
    if (e instanceof TypeError) return call();
    throw e;
  }
}

/**
 * What a booking asks for: seats of an event sold as one pool, lines by ticket type, or for a
 * seated event particular seats (all or none) or the best available ones.
 */
export type Order = (
  | { quantity: number }
  | { lines: { ticket_type_id: string; quantity: number }[] }
  | { seats: string[] }
  | { best_available: { ticket_type_id: string; quantity: number; accessible?: boolean } }
) & { promo_code?: string };

export function useBook(eventId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ order, key }: { order: Order; key: string }) =>
      withRetry(() =>
        unwrap(
          api.POST('/api/v1/events/{id}/bookings', {
            params: { path: { id: eventId } }, headers: { 'Idempotency-Key': key },
            body: order,
          }),
        ),
      ),
    onSuccess: (booking) => {
      client.setQueryData(['booking', booking.id], booking);
      void client.invalidateQueries({ queryKey: ['my-bookings'] });
      void client.invalidateQueries({ queryKey: ['ticket-types', eventId] });
    },
  });
}

/**
 * A booking form's submission: a fresh Idempotency-Key per click (a double click books once), then
 * the booking followed until it is decided. `submit`'s `onAccepted` runs when the API took it.
 */
export function useBookingFlow(eventId: string) {
  const book = useBook(eventId);
  const booking = useBooking(book.data?.id);
  // Set synchronously: a double click's second event arrives before React re-renders the button.
  const inFlight = useRef(false);
  function submit(order: Order, onAccepted?: () => void) {
    if (inFlight.current) return;
    inFlight.current = true;
    book.mutate({ order, key: newIdempotencyKey() }, { onSuccess: () => onAccepted?.(), onSettled: () => (inFlight.current = false) });
  }
  // The ticket types' counts are read again once the booking is decided: a read started when the
  // request was only accepted (202) may answer after the live stream's newer figure and undo it.
  const client = useQueryClient();
  const decided = booking.data && booking.data.status !== 'pending' ? booking.data.id : undefined;
  useEffect(() => {
    if (decided) void client.invalidateQueries({ queryKey: ['ticket-types', eventId] });
  }, [client, decided, eventId]);
  return { submit, pending: book.isPending, error: book.error, booking: booking.data ?? book.data };
}

const SETTLED = ['confirmed', 'rejected', 'cancelled', 'expired', 'waitlisted'];

/** One booking, polled while it is pending (the live stream also refreshes it). */
export function useBooking(id: string | undefined) {
  return useQuery({
    queryKey: ['booking', id],
    enabled: !!id,
    queryFn: () => unwrap(api.GET('/api/v1/bookings/{id}', { params: { path: { id: id! } } })),
    refetchInterval: (q) => {
      const status = (q.state.data as BookingOut | undefined)?.status;
      return status && SETTLED.includes(status) ? false : status === 'held' ? 5000 : 700;
    },
  });
}

export function useMyBookings(status?: string) {
  return useQuery({
    queryKey: ['my-bookings', status ?? ''],
    queryFn: () =>
      unwrap(api.GET('/api/v1/me/bookings', { params: { query: { limit: 100, ...(status ? { status } : {}) } } })),
  });
}

export function useCancelBooking() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      unwrap(
        api.POST('/api/v1/bookings/{id}/cancel', {
          params: { path: { id } }, headers: { 'Idempotency-Key': crypto.randomUUID() },
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['my-bookings'] });
      void client.invalidateQueries({ queryKey: ['booking'] });
    },
  });
}

export function usePay(bookingId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ method, key }: { method: string; key: string }) =>
      withRetry(() =>
        unwrap(
          api.POST('/api/v1/bookings/{id}/pay', {
            params: { path: { id: bookingId } }, headers: { 'Idempotency-Key': key },
            body: { payment_method: method },
          }),
        ),
      ),
    onSettled: () => {
      void client.invalidateQueries({ queryKey: ['booking', bookingId] });
      void client.invalidateQueries({ queryKey: ['my-bookings'] });
    },
  });
}
