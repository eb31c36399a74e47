import { readFile } from 'node:fs/promises';
import { expect, test } from '../support/test';
import { AppPage } from '../pages/app.page';
import { EventPage } from '../pages/event.page';
import { MyTicketsPage } from '../pages/me.page';
import { admin, event, uniqueEmail, venue } from '../support/api';
import { shoot } from '../support/shots';

test('1. an attendee registers, finds an event, books, sees it confirmed, opens the ticket QR and the PDF', async ({ page }) => {
  const a = await admin();
  const v = await venue(a.token, 'The Lighthouse');
  const name = `Harbour Lights ${Date.now() % 100000}`;
  const e = await event(a.token, v.id, { name, capacity: 50, category: 'music' });
  await event(a.token, v.id, { name: `Comedy Cellar ${Date.now() % 1000}`, category: 'comedy', price_cents: 1200 });

  const app = new AppPage(page);
  await page.goto('/register');
  await shoot(page, 'register');
  // A problem+json error shows next to its field.
  await page.getByLabel('Name').fill('Ana Attendee');
  await page.getByLabel('Email').fill(uniqueEmail('ana'));
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByLabel('Password')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('.field-error')).toBeVisible();
  await shoot(page, 'register-error');

  await app.register('Ana Attendee', uniqueEmail('ana'));
  await shoot(page, 'home');
  await page.getByRole('searchbox', { name: 'Search' }).fill(name);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(page.getByRole('list', { name: 'Upcoming events' }).getByRole('listitem')).toHaveCount(1);
  await page.getByRole('link', { name }).click();

  const ev = new EventPage(page);
  await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
  await expect(ev.availability()).toHaveText('50 seats left');
  await shoot(page, 'event');
  // A double click books once (one Idempotency-Key per click, the second click ignored).
  const box = await ev.book(2, { double: true });
  await expect(box.getByText('Booked! Your seats are confirmed.')).toBeVisible();
  await expect(ev.availability()).toHaveText('48 seats left');
  await shoot(page, 'event-booked');

  // Stay logged in: a reload restores the session silently (refresh cookie).
  await page.reload();
  await expect(app.nav().getByRole('button', { name: 'Log out' })).toBeAttached();

  const tickets = new MyTicketsPage(page);
  await tickets.open();
  await expect(tickets.qrCodes()).toHaveCount(2);
  const box0 = await tickets.qrCodes().first().boundingBox();
  expect(box0!.width).toBeGreaterThanOrEqual(250);
  await expect(page.getByText(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{3}$/).first()).toBeVisible();
  await shoot(page, 'tickets');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download PDF' }).first().click(),
  ]);
  const pdf = await readFile((await download.path())!);
  expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');

  // The in-app notification of the confirmation, marked read.
  await app.goNav(/Notifications/);
  const unread = page.getByRole('button', { name: 'Mark as read' });
  await expect(unread.first()).toBeVisible();
  await shoot(page, 'notifications-list');
  const before = await unread.count();
  await unread.first().click();
  await expect(unread).toHaveCount(before - 1);

  // Log out: the refresh cookie is revoked, a reload stays logged out.
  const toggle = page.getByRole('button', { name: 'Menu' });
  if (await toggle.isVisible()) await toggle.click();
  await app.nav().getByRole('button', { name: 'Log out' }).click();
  await expect(app.nav().getByRole('link', { name: 'Log in' })).toBeAttached();
  await page.reload();
  await expect(app.nav().getByRole('link', { name: 'Log in' })).toBeAttached();
  expect(e.id).toBeTruthy();
});
