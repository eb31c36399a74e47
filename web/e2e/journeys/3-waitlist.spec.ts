import { expect, test } from '../support/test';
import { AppPage } from '../pages/app.page';
import { EventPage } from '../pages/event.page';
import { MyBookingsPage } from '../pages/me.page';
import { admin, book, event, registerUser, venue } from '../support/api';
import { shoot } from '../support/shots';

test('3. sold out, waitlist, the holder cancels, the next person gets the offer and claims it', async ({ browser }) => {
  const a = await admin();
  const v = await venue(a.token);
  const name = `Tiny Room ${Date.now() % 100000}`;
  const e = await event(a.token, v.id, { name, capacity: 2, max_per_booking: 2 });
  const holder = await registerUser('holder');
  const next = await registerUser('next');
  expect((await book(holder.token, e.id, 2)).status).toBe('confirmed');

  const ctxNext = await browser.newContext();
  const pageNext = await ctxNext.newPage();
  await new AppPage(pageNext).login(next.email, undefined, `/events/${e.id}`);
  const ev = new EventPage(pageNext);
  await expect(ev.availability()).toHaveText('Sold out');
  await ev.waitlist().getByLabel('Seats wanted').fill('1');
  await ev.waitlist().getByRole('button', { name: 'Join the waitlist' }).click();
  await expect(ev.waitlist().getByText('You are number 1 in line.')).toBeVisible();
  await shoot(pageNext, 'event-waitlist');

  // A third person joins behind and leaves again.
  const third = await registerUser('third');
  const ctxThird = await browser.newContext();
  const pageThird = await ctxThird.newPage();
  await new AppPage(pageThird).login(third.email, undefined, `/events/${e.id}`);
  const evThird = new EventPage(pageThird);
  await evThird.waitlist().getByRole('button', { name: 'Join the waitlist' }).click();
  await expect(evThird.waitlist().getByText('You are number 2 in line.')).toBeVisible();
  await evThird.waitlist().getByRole('button', { name: 'Leave the waitlist' }).click();
  await expect(evThird.waitlist().getByRole('button', { name: 'Join the waitlist' })).toBeVisible();
  await ctxThird.close();

  // The holder cancels in the app.
  const ctxHolder = await browser.newContext();
  const pageHolder = await ctxHolder.newPage();
  await new AppPage(pageHolder).login(holder.email, undefined, '/me/bookings');
  const mine = new MyBookingsPage(pageHolder);
  await expect(mine.row(name)).toBeVisible();
  await shoot(pageHolder, 'my-bookings');
  pageHolder.once('dialog', (d) => void d.accept());
  await mine.row(name).getByRole('button', { name: 'Cancel booking' }).click();
  await expect(mine.row(name).getByText('Cancelled')).toBeVisible();

  // The next person gets the offer with its countdown and claims it.
  await expect(ev.waitlist().getByText('Seats are offered to you!')).toBeVisible({ timeout: 30_000 });
  await expect(ev.waitlist().getByText('Offer expires in')).toBeVisible();
  await shoot(pageNext, 'event-offer');
  await ev.waitlist().getByRole('button', { name: 'Claim seats' }).click();
  await expect(ev.waitlist().getByText('Claimed: see your bookings.')).toBeVisible();
  const bookings = new MyBookingsPage(pageNext);
  await bookings.open();
  await expect(bookings.row(name).getByText('Confirmed')).toBeVisible();
  await ctxNext.close();
  await ctxHolder.close();
});
