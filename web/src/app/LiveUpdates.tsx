import { useEffect } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { streamSse } from '@/lib/sse';

/** Follows `/me/live` while signed in and refreshes what each change touches. */
export function LiveUpdates({ userId }: { userId: string }) {
  const client = useQueryClient();
  useEffect(() => {
    const abort = new AbortController();
    streamSse(
      '/api/v1/me/live',
      (m) => {
        let item: { kind?: string; id?: string } = {};
        try {
          item = JSON.parse(m.data);
        } catch {
          return;
        }
        switch (m.event) {
          case 'booking':
          case 'payment':
            void client.invalidateQueries({ queryKey: ['booking'] });
            void client.invalidateQueries({ queryKey: ['my-bookings'] });
            void client.invalidateQueries({ queryKey: ['tickets'] });
            break;
          case 'waitlist':
            void client.invalidateQueries({ queryKey: ['my-waitlist'] });
            void client.invalidateQueries({ queryKey: ['my-bookings'] });
            break;
          case 'notification':
            void client.invalidateQueries({ queryKey: ['notifications'] });
            break;
        }
        void item;
      },
      abort.signal,
    );
    return () => abort.abort();
  }, [userId, client]);
  return null;
}
