import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '@/lib/api/client';

export function useEventAnalytics(id: string) {
  return useQuery({
    queryKey: ['analytics', id],
    queryFn: () => unwrap(api.GET('/api/v1/events/{id}/analytics', { params: { path: { id } } })),
    refetchInterval: 15_000,
  });
}

export function useOverview() {
  return useQuery({
    queryKey: ['overview'],
    queryFn: () => unwrap(api.GET('/api/v1/admin/analytics/overview')),
  });
}
