import { readFile } from 'node:fs/promises';
import { expect, test } from '../support/test';
import { AppPage } from '../pages/app.page';
import { OrganizerPage } from '../pages/organizer.page';
import { book, organizer, registerUser } from '../support/api';
import { shoot } from '../support/shots';

test('5. an organiser creates an event, edits it while a second tab edits it too, exports the CSV, sees the charts', async ({ page, context }) => {
  const org = await organizer('Olivia Organiser');
  await new AppPage(page).login(org.email, undefined, '/organizer');
  const console_ = new OrganizerPage(page);
  await expect(page.getByRole('heading', { name: 'Organiser console' })).toBeVisible();
  await console_.createVenue('Harbour Pavilion');
  await console_.editVenue('Harbour Pavilion', 'Porto');
  const name = `Build Day ${Date.now() % 100000}`;
  await console_.createEvent(name, 40);
  const eventUrl = page.url();
  const eventId = eventUrl.split('/').pop()!;

  // Some sales for the attendee list and the charts.
  for (const who of ['ben', 'cleo']) {
    const u = await registerUser(who, who === 'ben' ? 'Ben Byrne' : 'Cleo Costa');
    expect((await book(u.token, eventId, 2)).status).toBe('confirmed');
  }

  // A second tab edits the same event and saves first.
  const second = await context.newPage();
  await second.goto(eventUrl);
  const editor2 = new OrganizerPage(second).editor();
  await editor2.getByLabel('Event name').fill(`${name} (second tab)`);
  await editor2.getByRole('button', { name: 'Save changes' }).click();
  await expect(editor2.getByText('Saved.')).toBeVisible();

  // The first tab's save is stale: "changed by someone else, reload".
  const editor = console_.editor();
  await editor.getByLabel('Capacity', { exact: true }).fill('60');
  await editor.getByRole('button', { name: 'Save changes' }).click();
  await expect(editor.getByText(/changed by someone else/)).toBeVisible();
  await shoot(page, 'organizer-conflict');
  await editor.getByRole('button', { name: 'Reload' }).click();
  await expect(editor.getByLabel('Event name')).toHaveValue(`${name} (second tab)`);
  await editor.getByLabel('Capacity', { exact: true }).fill('60');
  await editor.getByRole('button', { name: 'Save changes' }).click();
  await expect(editor.getByText('Saved.')).toBeVisible();

  // Attendees and the CSV (a reload shows the sales made meanwhile).
  await page.reload();
  const attendees = page.getByRole('region', { name: 'Attendees' }).first();
  await expect(attendees.getByRole('cell', { name: 'Ben Byrne' })).toBeVisible();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    attendees.getByRole('button', { name: 'Export CSV' }).click(),
  ]);
  const csv = (await readFile((await download.path())!)).toString();
  expect(csv.split('\n')[0]).toContain('email');
  expect(csv).toContain('Cleo Costa');

  // The charts.
  const analytics = page.getByRole('region', { name: 'Analytics' });
  await expect(analytics.getByRole('figure', { name: 'Bookings over time' })).toBeVisible();
  await expect(analytics.getByRole('meter', { name: 'Utilisation' })).toHaveAttribute('aria-valuenow', '7');
  await expect(analytics.getByRole('figure', { name: 'Bookings over time' }).locator('.recharts-bar-rectangle').first()).toBeVisible();
  await shoot(page, 'organizer-event');
  await console_.open();
  await shoot(page, 'organizer');
  await second.close();

  // Cancelling the event: a confirmation, then its progress until every booking is cancelled.
  await page.goto(eventUrl);
  const danger = page.getByRole('region', { name: 'Cancel event' });
  await danger.getByRole('button', { name: 'Cancel event' }).click();
  await expect(danger.getByRole('alertdialog')).toBeVisible();
  await shoot(page, 'organizer-cancel-confirm');
  await danger.getByRole('button', { name: 'Yes, cancel the event' }).click();
  await expect(danger.getByText('The event is cancelled.')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByRole('region', { name: 'Attendees' }).getByText('No attendees yet.')).toBeVisible();
});

test('5b. an admin sees the overview and changes a role', async ({ page }) => {
  const someone = await registerUser('promoted', 'Pat Promoted');
  await new AppPage(page).login(process.env.EVENTLY_E2E_ADMIN_EMAIL ?? 'admin@example.com', process.env.EVENTLY_E2E_ADMIN_PASSWORD ?? 'admin-password-e2e', '/admin');
  await expect(page.getByRole('heading', { name: 'Overview' })).toBeVisible();
  await page.getByLabel('User id').fill(someone.user.id);
  await page.getByLabel('Role', { exact: true }).selectOption('organizer');
  await page.getByRole('button', { name: 'Set role' }).click();
  await expect(page.getByText(`${someone.email} is now Organiser.`)).toBeVisible();
  await shoot(page, 'admin');
});
