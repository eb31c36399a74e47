import { expect, type Page } from '@playwright/test';

export class OrganizerPage {
  constructor(public page: Page) {}

  async open() {
    await this.page.goto('/organizer');
    await expect(this.page.getByRole('heading', { name: 'Organiser console' })).toBeVisible();
  }

  async createVenue(name: string) {
    await this.page.getByText('New venue').click();
    await this.page.getByLabel('Venue name').fill(name);
    await this.page.getByLabel('City', { exact: true }).fill('Lisbon');
    await this.page.getByLabel('Capacity', { exact: true }).last().fill('500');
    await this.page.getByRole('button', { name: 'Create venue' }).click();
    await expect(this.page.getByRole('region', { name: 'Venues' }).getByText(name)).toBeVisible();
  }

  async editVenue(name: string, city: string) {
    const venues = this.page.getByRole('region', { name: 'Venues' });
    await venues.getByRole('button', { name: `Edit: ${name}` }).click();
    const row = venues.getByRole('listitem').filter({ hasText: name });
    await row.getByLabel('City', { exact: true }).fill(city);
    await row.getByRole('button', { name: 'Save changes' }).click();
    await expect(row.getByText(city)).toBeVisible();
  }

  async createEvent(name: string, capacity: number) {
    await this.page.getByRole('button', { name: 'New event' }).click();
    const form = this.page.locator('form.event-form');
    await form.getByLabel('Event name').fill(name);
    await form.getByLabel('Description').fill('Talks and workshops on building things that last.');
    await form.getByLabel('Category').selectOption('conference');
    await form.getByLabel('Capacity').fill(String(capacity));
    await form.getByRole('button', { name: 'Create event' }).click();
    await expect(this.page.getByRole('heading', { name, level: 1 })).toBeVisible();
  }

  editor() {
    return this.page.getByRole('region', { name: 'Edit event' });
  }
}
