import { useQueries } from '@tanstack/react-query';
import { api, apiRaw, unwrap } from '@/lib/api/client';

export function useTicketsOf(bookingIds: string[]) {
  return useQueries({
    queries: bookingIds.map((id) => ({
      queryKey: ['tickets', id],
      queryFn: () => unwrap(api.GET('/api/v1/bookings/{id}/tickets', { params: { path: { id } } })),
      // Tickets are issued just after the confirmation: look again until they are there.
      refetchInterval: (q: { state: { data?: { tickets: unknown[] } } }) =>
        q.state.data && q.state.data.tickets.length > 0 ? false : 1000,
    })),
  });
}

export async function downloadPdf(ticketId: string, number: string) {
  const res = await apiRaw(`/api/v1/tickets/${ticketId}/pdf`);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = `ticket-${number}.pdf`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
