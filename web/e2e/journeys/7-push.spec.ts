import { expect, test } from '../support/test';
import { AppPage } from '../pages/app.page';
import { BASE, registerUser } from '../support/api';
import { shoot } from '../support/shots';

test('7. the service worker shows a notification for a push message', async ({ page, context }) => {
  await context.grantPermissions(['notifications'], { origin: BASE });
  const u = await registerUser('pushy');
  await new AppPage(page).login(u.email, undefined, '/me/notifications');
  await expect(page.getByRole('heading', { name: 'Notifications', level: 1 })).toBeVisible();
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  await shoot(page, 'notifications');

  // A synthetic push event, delivered to the registered worker through the DevTools protocol.
  const cdp = await context.newCDPSession(page);
  const registration = new Promise<string>((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const r = registrations.find((x: { scopeURL: string; isDeleted: boolean }) => x.scopeURL.startsWith(BASE) && !x.isDeleted);
      if (r) resolve(r.registrationId);
    });
  });
  await cdp.send('ServiceWorker.enable');
  const registrationId = await registration;
  const message = { title: 'Your seats are confirmed', body: 'Harbour Lights: 2 seats', url: '/me/tickets', delivery: 'test-1' };
  const shown = () =>
    page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => `${n.title}|${n.body}`));
  // DevTools hands the message to the worker; one delivered while the worker is being started can
  // be dropped, so it is delivered again until it shows (the `tag` makes copies one notification).
  await expect(async () => {
    await cdp.send('ServiceWorker.deliverPushMessage', { origin: new URL(BASE).origin, registrationId, data: JSON.stringify(message) });
    await expect.poll(shown, { timeout: 3_000 }).toContain('Your seats are confirmed|Harbour Lights: 2 seats');
  }).toPass({ timeout: 20_000 });
  expect(await shown()).toHaveLength(1);
});
