import { expect, test } from '../support/test';
import { AppPage } from '../pages/app.page';
import { EventPage } from '../pages/event.page';
import { admin, event, registerUser, venue } from '../support/api';
import { shoot } from '../support/shots';

test('4. a paid event: hold, pay, confirmed; a hold left to expire frees the seats', async ({ page }) => {
  const a = await admin();
  const v = await venue(a.token);
  const e = await event(a.token, v.id, { name: 'Jazz on the Roof', capacity: 10, price_cents: 2500, hold_minutes: 1 });
  const buyer = await registerUser('buyer');
  await new AppPage(page).login(buyer.email, undefined, `/events/${e.id}`);
  const ev = new EventPage(page);

  let box = await ev.book(2);
  await expect(box.getByText('Seats held: pay before the time runs out.')).toBeVisible();
  await expect(box.getByText('Time left to pay')).toBeVisible();
  await expect(ev.availability()).toHaveText('8 seats left');
  await shoot(page, 'event-hold');
  // A declined card: said so, the hold stays.
  await box.getByLabel('Card').selectOption('tok_chargeDeclined');
  await box.getByRole('button', { name: /^Pay / }).click();
  await expect(box.getByText('The card was declined.')).toBeVisible();
  await expect(box.getByText('Time left to pay')).toBeVisible();
  await box.getByLabel('Card').selectOption('tok_visa');
  await box.getByRole('button', { name: /^Pay / }).click();
  await expect(box.getByText('Booked! Your seats are confirmed.')).toBeVisible();

  // A second hold, left to expire (hold_minutes 1, then the sweeper): the seats come back.
  await page.reload();
  box = await ev.book(3);
  await expect(box.getByText('Seats held: pay before the time runs out.')).toBeVisible();
  await expect(ev.availability()).toHaveText('5 seats left');
  await expect(box.getByText('The hold expired: the seats were released.')).toBeVisible({ timeout: 120_000 });
  await expect(ev.availability()).toHaveText('8 seats left');
});
