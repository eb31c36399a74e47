import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';
import type { WaitlistEntryOut } from '@/lib/api/types';

export function useMyWaitlist(enabled = true) {
  return useQuery({
    queryKey: ['my-waitlist'],
    enabled,
    queryFn: () => unwrap(api.GET('/api/v1/me/waitlist', { params: { query: { limit: 100 } } })),
    refetchInterval: 5000,
  });
}

function useInvalidate() {
  const client = useQueryClient();
  return () => {
    void client.invalidateQueries({ queryKey: ['my-waitlist'] });
    void client.invalidateQueries({ queryKey: ['my-bookings'] });
    void client.invalidateQueries({ queryKey: ['event'] });
  };
}

export function useJoinWaitlist(eventId: string) {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: ({ quantity, ticketTypeId }: { quantity: number; ticketTypeId?: string }) =>
      unwrap(
        api.POST('/api/v1/events/{id}/waitlist', {
          params: { path: { id: eventId } },
          body: ticketTypeId ? { quantity, ticket_type_id: ticketTypeId } : { quantity },
        }),
      ) as Promise<WaitlistEntryOut>,
    onSuccess: invalidate,
  });
}

export function useClaim() {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.POST('/api/v1/waitlist/{id}/claim', { params: { path: { id } } })),
    onSuccess: invalidate,
  });
}

export function useLeave() {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/v1/waitlist/{id}', { params: { path: { id } } })),
    onSuccess: invalidate,
  });
}
