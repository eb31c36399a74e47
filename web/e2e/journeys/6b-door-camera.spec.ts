import { expect, test } from '../support/test';
import { AppPage } from '../pages/app.page';
import { DoorPage } from '../pages/door.page';
import { BASE, book, event, organizer, registerUser, tickets, venue } from '../support/api';
import { FAKE_CAMERA, showOnCamera } from '../support/fake-camera';

showOnCamera('nothing yet');
test.use({
  launchOptions: {
    executablePath: process.env.EVENTLY_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${FAKE_CAMERA}`,
    ],
  },
});

test('6b. the door scans a ticket with the camera', async ({ page, context }) => {
  await context.grantPermissions(['camera'], { origin: BASE });
  const org = await organizer('Cam Door');
  const v = await venue(org.token, 'Camera Hall');
  const e = await event(org.token, v.id, { name: 'Camera Night', capacity: 10 });
  const guest = await registerUser('camguest');
  const [ticket] = await tickets(guest.token, (await book(guest.token, e.id, 1)).id);
  showOnCamera(ticket.qr_payload);

  await new AppPage(page).login(org.email, undefined, `/door/${e.id}`);
  const door = new DoorPage(page);
  await page.getByRole('button', { name: 'Scan with the camera' }).click();
  await expect(page.getByLabel('Camera preview')).toBeVisible();
  await door.expectAnswer('Admitted');
  const decoder = await page.evaluate(() => ('BarcodeDetector' in window ? 'BarcodeDetector' : 'jsQR'));
  console.log(`decoded by ${decoder}`);
});
