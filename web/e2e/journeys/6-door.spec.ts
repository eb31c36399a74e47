import { expect, test } from '../support/test';
import { AppPage } from '../pages/app.page';
import { DoorPage } from '../pages/door.page';
import { api, book, event, organizer, registerUser, tickets, venue } from '../support/api';
import { shoot } from '../support/shots';

function forge(payload: string) {
  // Change one character of the signature part: still base64url, no longer signed.
  const i = payload.length - 10;
  return payload.slice(0, i) + (payload[i] === 'A' ? 'B' : 'A') + payload.slice(i + 1);
}

test('6. the door: admitted, the same ticket refused, a forged code refused, offline scans queued and synced', async ({ page, context }) => {
  const org = await organizer('Dora Door');
  const v = await venue(org.token, 'Old Mill');
  const e = await event(org.token, v.id, { name: 'Mill Sessions', capacity: 30 });
  const other = await event(org.token, v.id, { name: 'Another Night', capacity: 30 });
  const guest = await registerUser('guest');
  const b = await book(guest.token, e.id, 3);
  const t = await tickets(guest.token, b.id);
  const elsewhere = await tickets(guest.token, (await book(guest.token, other.id, 1)).id);

  await new AppPage(page).login(org.email, undefined, '/door');
  await expect(page.getByLabel('Choose the event at this door')).toBeVisible();
  await shoot(page, 'door-pick');
  await page.getByLabel('Choose the event at this door').selectOption(e.id);
  const door = new DoorPage(page);
  await expect(page.getByRole('heading', { name: 'Door check-in' })).toBeVisible();
  await shoot(page, 'door');

  await door.check(t[0].qr_payload);
  await door.expectAnswer('Admitted');
  await shoot(page, 'door-admitted');
  await door.check(t[0].qr_payload);
  await door.expectAnswer('Refused', /Already checked in/);
  await shoot(page, 'door-refused');
  await door.check(forge(t[1].qr_payload));
  await door.expectAnswer('Refused', /Forged/);
  await door.check(elsewhere[0].qr_payload);
  await door.expectAnswer('Refused', /another event/);
  // Ticket-number entry.
  await door.check(t[2].ticket_number.toLowerCase());
  await door.expectAnswer('Admitted');

  // The network goes away: the app still loads (service worker) and verifies on the device.
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  await context.setOffline(true);
  await page.reload();
  await expect(page.getByText('Offline: verifying on this device')).toBeVisible();
  await door.check(t[1].qr_payload);
  await door.expectAnswer('Admitted', /admitted offline/);
  await expect(page.getByText('1 scan waiting to sync')).toBeVisible();
  await door.check(t[1].qr_payload);
  await door.expectAnswer('Refused', /Already checked in/);
  await door.check(forge(t[1].qr_payload));
  await door.expectAnswer('Refused', /Forged/);
  await shoot(page, 'door-offline');

  await context.setOffline(false);
  await expect(page.getByText('All scans synced.')).toBeVisible({ timeout: 30_000 });
  const after = await api.get<{ tickets: { id: string; checked_in_at?: string }[] }>(`/bookings/${b.id}/tickets`, guest.token);
  expect(after.tickets.filter((x) => x.checked_in_at).length).toBe(3);
});
