import { expect, type Page } from '@playwright/test';

export class DoorPage {
  constructor(public page: Page) {}

  async open(eventId: string) {
    await this.page.goto(`/door/${eventId}`);
    await expect(this.page.getByRole('heading', { name: 'Door check-in' })).toBeVisible();
  }

  verdict() {
    return this.page.locator('.verdict');
  }

  async check(code: string) {
    await this.page.getByLabel('Ticket code or number').fill(code);
    await this.page.getByRole('button', { name: 'Check', exact: true }).click();
  }

  async expectAnswer(word: 'Admitted' | 'Refused', reason?: RegExp) {
    await expect(this.verdict().getByText(word, { exact: true })).toBeVisible();
    if (reason) await expect(this.verdict()).toContainText(reason);
  }
}
