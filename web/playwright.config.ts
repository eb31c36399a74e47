import { defineConfig } from '@playwright/test';

// The journeys run against a real `evently up` started by deploy/web.sh (EVENTLY_E2E_BASE_URL),
// in Debian's chromium (no browser download).
export default defineConfig({
  testDir: './e2e/journeys',
  timeout: 180_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: 'e2e/results',
  use: {
    baseURL: process.env.EVENTLY_E2E_BASE_URL ?? 'http://127.0.0.1:8080',
    viewport: { width: 1280, height: 900 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.EVENTLY_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    },
  },
});
