import { useMutation } from '@tanstack/react-query';
import { api, apiRaw, unwrap } from '@/lib/api/client';
import { saveResponse } from '@/lib/download';
import { forget } from '@/lib/session';

/** Downloads `GET /me/export` (everything held about the caller) as a JSON file. */
export async function downloadMyData() {
  await saveResponse(await apiRaw('/api/v1/me/export'), 'evently-data.json');
}

/**
 * `DELETE /me` with the password. On success the session is forgotten and the page loaded afresh
 * (nothing of the account stays in memory or in the query cache).
 */
export function useDeleteAccount() {
  return useMutation({
    mutationFn: (password: string) => unwrap(api.DELETE('/api/v1/me', { body: { password } })),
    onSuccess: () => {
      forget();
      window.location.assign('/?account=deleted');
    },
  });
}
