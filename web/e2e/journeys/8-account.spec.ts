import { readFile } from 'node:fs/promises';
import { expect, test } from '../support/test';
import { AppPage } from '../pages/app.page';
import { admin, book, event, PASSWORD, registerUser, venue } from '../support/api';
import { shoot } from '../support/shots';

test('8. an attendee downloads their data, then deletes their account and cannot log in again', async ({ page }) => {
  const a = await admin();
  const v = await venue(a.token);
  const e = await event(a.token, v.id, { name: 'Last Call', capacity: 5 });
  const u = await registerUser('leaving', 'Lee Leaving');
  await book(u.token, e.id, 2);

  const app = new AppPage(page);
  await app.login(u.email, undefined, '/me/account');
  await expect(page.getByRole('heading', { name: 'Your account', level: 1 })).toBeVisible();

  // The download is the caller's own data, as JSON.
  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download my data' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^evently-data-\d{4}-\d{2}-\d{2}\.json$/);
  const data = JSON.parse(await readFile(await download.path(), 'utf8'));
  expect(data.account.email).toBe(u.email);
  expect(data.bookings).toHaveLength(1);
  expect(JSON.stringify(data)).not.toContain('password_hash');

  // Deleting needs the password and the confirmation; a wrong password is named.
  const remove = page.getByRole('button', { name: 'Delete my account' });
  await expect(remove).toBeDisabled();
  await page.getByLabel('Your password').fill('not-my-password-at-all');
  await page.getByLabel('I understand that this cannot be undone').check();
  await remove.click();
  await expect(page.getByText('does not match this account\'s password')).toBeVisible();
  await shoot(page, 'account-delete');
  await page.getByLabel('Your password').fill(PASSWORD);
  await remove.click();
  await expect(page.getByText('Your account is deleted.')).toBeVisible();
  await expect(app.nav().getByRole('link', { name: 'Log in' })).toBeVisible();

  await page.goto('/login');
  await page.getByLabel('Email').fill(u.email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('alert')).toBeVisible();
});
