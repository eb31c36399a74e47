import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import { expect, type Page } from '@playwright/test';

const DIR = fileURLToPath(new URL('../screenshots/', import.meta.url));
mkdirSync(DIR, { recursive: true });

/**
 * Screenshots the page at 375 and 1280 px wide (full page) and checks it with axe-core at both
 * widths: no serious or critical violation.
 */
export async function shoot(page: Page, name: string) {
  const original = page.viewportSize() ?? { width: 1280, height: 900 };
  for (const width of [375, 1280]) {
    await page.setViewportSize({ width, height: width === 375 ? 812 : 900 });
    await page.evaluate(() => document.fonts.ready);
    await page.screenshot({ path: `${DIR}${name}-${width}.png`, fullPage: true, animations: 'disabled' });
    const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`), `axe on ${name} at ${width}px`).toEqual([]);
  }
  await page.setViewportSize(original);
}
