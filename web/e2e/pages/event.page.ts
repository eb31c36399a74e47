import { expect, type Page } from '@playwright/test';

export class EventPage {
  constructor(public page: Page) {}

  async open(id: string) {
    await this.page.goto(`/events/${id}`);
    await expect(this.page.getByRole('heading', { level: 1 })).toBeVisible();
  }

  availability() {
    return this.page.getByRole('region', { name: /Availability/ }).getByTestId('available');
  }

  async book(quantity: number, { keyboard = false, double = false } = {}) {
    const box = this.page.getByRole('region', { name: 'Book' });
    await box.getByLabel('Quantity').fill(String(quantity));
    if (keyboard) await box.getByLabel('Quantity').press('Enter');
    else if (double) await box.getByRole('button', { name: 'Book now' }).dblclick();
    else await box.getByRole('button', { name: 'Book now' }).click();
    return box;
  }

  waitlist() {
    return this.page.getByRole('region', { name: 'Waitlist' });
  }
}
