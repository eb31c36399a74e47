import { expect, type Page } from '@playwright/test';

export class MyBookingsPage {
  constructor(public page: Page) {}

  async open() {
    await this.page.goto('/me/bookings');
    await expect(this.page.getByRole('heading', { name: 'My bookings', level: 1 })).toBeVisible();
  }

  row(eventName: string) {
    return this.page.getByRole('listitem').filter({ has: this.page.getByRole('link', { name: eventName }) });
  }
}

export class MyTicketsPage {
  constructor(public page: Page) {}

  async open() {
    await this.page.goto('/me/tickets');
    await expect(this.page.getByRole('heading', { name: 'My tickets' })).toBeVisible();
  }

  qrCodes() {
    return this.page.getByRole('img', { name: /QR code of ticket/ });
  }
}
