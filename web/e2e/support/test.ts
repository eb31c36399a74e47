// The journeys' `test`: every page of every context is watched for Content-Security-Policy
// violations and uncaught errors, and a journey with any fails.
import { test as base, expect, type Page } from '@playwright/test';

export { expect };

export const test = base.extend<{ watch: void }>({
  watch: [
    async ({ context }, use) => {
      const problems: string[] = [];
      const watchPage = (page: Page) => {
        page.on('console', (m) => {
          if (m.type() === 'error' && /Content Security Policy|Refused to (execute|apply|load|connect)/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
        });
        page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
      };
      context.pages().forEach(watchPage);
      context.on('page', watchPage);
      await use();
      expect(problems, 'CSP violations and uncaught errors').toEqual([]);
    },
    { auto: true },
  ],
});
