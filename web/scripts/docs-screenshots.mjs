#!/usr/bin/env node
// The README's screenshots (docs/screenshots/): an instance filled by `evently demo`, looked at as
// its attendee and organiser, at 375 and 1280 px.
//   node scripts/docs-screenshots.mjs http://127.0.0.1:8080
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const base = process.argv[2] ?? 'http://127.0.0.1:8080';
const out = new URL('../../docs/screenshots/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.EVENTLY_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const events = (await (await fetch(`${base}/api/v1/events?limit=50`)).json()).items;
const byName = (n) => events.find((e) => e.name === n)?.id ?? events[0].id;

async function session(email, password) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor({ state: 'attached' });
  return page;
}

async function shot(page, path, name, ready, widths = [375, 1280]) {
  for (const width of widths) {
    await page.setViewportSize({ width, height: width === 375 ? 812 : 900 });
    await page.goto(`${base}${path}`);
    await ready(page);
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${out}${name}-${width}.png`, fullPage: width === 375 || name.startsWith('organizer') });
  }
}

const attendee = await session('attendee@demo.evently.test', 'front-row-seat-42');
await shot(attendee, '/', 'home', (p) => p.getByRole('list', { name: 'Upcoming events' }).getByRole('listitem').first().waitFor());
await shot(attendee, `/events/${byName('Jazz on the River')}`, 'event', (p) => p.getByRole('button', { name: 'Book now' }).waitFor());
await shot(attendee, `/events/${byName('Midnight Film Marathon')}`, 'event-sold-out', (p) => p.getByRole('region', { name: 'Waitlist' }).waitFor(), [375]);
await shot(attendee, '/me/tickets', 'tickets', (p) => p.getByRole('img', { name: /QR code/ }).first().waitFor(), [375]);
const organiser = await session('organiser@demo.evently.test', 'stage-door-2026');
const withSales = events.slice().sort((a, b) => b.availability.sold - a.availability.sold)[0].id;
await shot(organiser, `/organizer/events/${withSales}`, 'organizer-event', (p) => p.getByRole('region', { name: 'Analytics' }).getByRole('figure').first().waitFor(), [1280]);
await organiser.setViewportSize({ width: 375, height: 812 });
await organiser.goto(`${base}/door/${withSales}`);
await organiser.getByRole('heading', { name: 'Door check-in' }).waitFor();
await organiser.screenshot({ path: `${out}door-375.png` });
await browser.close();
console.log(`screenshots in ${out}`);
