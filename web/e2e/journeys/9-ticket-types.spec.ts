import { expect, test } from '../support/test';
import { AppPage } from '../pages/app.page';
import { event, organizer, registerUser, venue } from '../support/api';
import { shoot } from '../support/shots';

test('9. an organiser sells ticket types and a promo code; an attendee books two types at once, then a hidden one with the code', async ({ page, context }) => {
  const org = await organizer('Tess Types');
  const v = await venue(org.token, 'Dock Hall');
  const name = `Two Kinds ${Date.now() % 100000}`;
  const e = await event(org.token, v.id, { name, capacity: 20 });

  // The organiser adds the types in the console.
  await new AppPage(page).login(org.email, undefined, `/organizer/events/${e.id}`);
  const types = page.getByRole('region', { name: 'Ticket types' });
  await expect(types.getByText(/sold as one pool of seats/)).toBeVisible();
  const add = types.getByRole('form', { name: 'Add ticket type' });
  await add.getByLabel('Name').fill('VIP');
  await add.getByLabel('Price (cents)').fill('0');
  await add.getByLabel('Quota').fill('2');
  await add.getByRole('button', { name: 'Add ticket type' }).click();
  await expect(types.getByRole('rowheader', { name: 'VIP' })).toBeVisible();
  await add.getByLabel('Name').fill('General');
  await add.getByLabel('Quota').fill('15');
  await add.getByRole('button', { name: 'Add ticket type' }).click();
  await expect(types.getByRole('rowheader', { name: 'General' })).toBeVisible();
  // A name already taken is refused next to its field.
  await add.getByLabel('Name').fill('VIP');
  await add.getByRole('button', { name: 'Add ticket type' }).click();
  await expect(add.getByLabel('Name')).toHaveAttribute('aria-invalid', 'true');
  // A hidden type for the crew, and a code that unlocks it for free.
  await add.getByLabel('Name').fill('Crew');
  await add.getByLabel('Quota').fill('2');
  await add.getByLabel('Hidden from the public').check();
  await add.getByRole('button', { name: 'Add ticket type' }).click();
  await expect(types.getByRole('rowheader', { name: /Crew/ })).toBeVisible();
  const codes = page.getByRole('region', { name: 'Promo codes' });
  const addCode = codes.getByRole('form', { name: 'Add promo code' });
  await addCode.getByLabel('Code').fill('crew-2026');
  await addCode.getByLabel('Percent off').fill('100');
  await addCode.getByLabel('Applies to').selectOption({ label: 'Crew' });
  await addCode.getByRole('button', { name: 'Add promo code' }).click();
  await expect(codes.getByRole('rowheader', { name: 'CREW-2026' })).toBeVisible();
  await shoot(page, 'organizer-ticket-types');

  // An attendee books one VIP and two General tickets at once.
  const ana = await registerUser('types', 'Ana Types');
  const attendee = await context.browser()!.newContext();
  const tab = await attendee.newPage();
  await new AppPage(tab).login(ana.email, undefined, `/events/${e.id}`);
  const box = tab.getByRole('region', { name: 'Book' });
  await expect(box.getByRole('group', { name: 'Tickets' })).toBeVisible();
  await box.getByLabel(/^VIP/).fill('1');
  await box.getByLabel(/^General/).fill('2');
  await shoot(tab, 'event-ticket-types');
  await box.getByRole('button', { name: 'Book now' }).click();
  await expect(box.getByText('Booked! Your seats are confirmed.')).toBeVisible({ timeout: 15_000 });
  await expect(box.getByLabel(/^VIP/)).toHaveAccessibleDescription(/1 left/);

  // The hidden type shows only with the code, and books with it.
  await expect(box.getByLabel(/^Crew/)).toHaveCount(0);
  await box.getByLabel('Promo code').fill('nope-nope');
  await box.getByRole('button', { name: 'Apply' }).click();
  await expect(box.getByLabel('Promo code')).toHaveAttribute('aria-invalid', 'true');
  await box.getByLabel('Promo code').fill('crew-2026');
  await box.getByRole('button', { name: 'Apply' }).click();
  await expect(box.getByLabel(/^Crew/)).toBeVisible();
  await box.getByLabel(/^VIP/).fill('0');
  await box.getByLabel(/^General/).fill('0');
  await box.getByLabel(/^Crew/).fill('1');
  await shoot(tab, 'event-promo-code');
  await box.getByRole('button', { name: 'Book now' }).click();
  await expect(box.getByText('Booked! Your seats are confirmed.')).toBeVisible({ timeout: 15_000 });
  await expect(box.getByLabel(/^Crew/)).toHaveAccessibleDescription(/1 left/);

  // The organiser's tables count them.
  await page.reload();
  const vip = types.getByRole('row', { name: /VIP/ });
  await expect(vip.getByRole('cell').nth(1)).toHaveText('1');
  await expect(codes.getByRole('row', { name: /CREW-2026/ }).getByRole('cell').nth(2)).toHaveText('1');
  await attendee.close();
});
