import { expect, type Page } from '@playwright/test';
import { PASSWORD } from '../support/api';

/** The parts of the app every journey uses: signing in and the main navigation. */
export class AppPage {
  constructor(public page: Page) {}

  async open(path = '/') {
    await this.page.goto(path);
  }

  nav() {
    return this.page.getByRole('navigation', { name: 'Main' });
  }

  async goNav(name: string | RegExp) {
    const toggle = this.page.getByRole('button', { name: 'Menu' });
    if (await toggle.isVisible()) await toggle.click();
    await this.nav().getByRole('link', { name }).click();
  }

  async register(name: string, email: string, password = PASSWORD) {
    await this.page.goto('/register');
    await this.page.getByLabel('Name').fill(name);
    await this.page.getByLabel('Email').fill(email);
    await this.page.getByLabel('Password').fill(password);
    await this.page.getByRole('button', { name: 'Create account' }).click();
    await expect(this.nav().getByRole('button', { name: 'Log out' })).toBeAttached();
  }

  async login(email: string, password = PASSWORD, next = '/') {
    await this.page.goto(`/login?next=${encodeURIComponent(next)}`);
    await this.page.getByLabel('Email').fill(email);
    await this.page.getByLabel('Password').fill(password);
    await this.page.getByRole('button', { name: 'Log in' }).click();
    await expect(this.nav().getByRole('button', { name: 'Log out' })).toBeAttached();
  }
}
