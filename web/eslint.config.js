import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

const features = [
  'auth', 'events', 'bookings', 'waitlist', 'tickets', 'notifications',
  'organizer', 'analytics', 'admin', 'checkin', 'seating',
];

// bulletproof-react's rule: app -> features -> shared (components, lib); no feature imports
// another feature, and shared code imports no feature and not the app.
const featureBoundaries = features.map((feature) => ({
  files: [`src/features/${feature}/**/*.{ts,tsx}`],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [
        { group: ['@/features/*', `!@/features/${feature}`, `!@/features/${feature}/**`], message: 'No imports across features: compose them in src/app.' },
        { group: ['../../*/**', '@/app/**'], message: 'Features import only themselves and shared code (@/components, @/lib).' },
      ],
    }],
  },
}));

export default tseslint.config(
  { ignores: ['dist', 'node_modules', 'src/lib/api/schema.d.ts', 'e2e/screenshots', 'public/sw.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'warn',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...featureBoundaries,
  {
    files: ['src/components/**/*.{ts,tsx}', 'src/lib/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@/features/**', '@/app/**'], message: 'Shared code imports no feature and not the app.' }] }],
    },
  },
  {
    files: ['e2e/**/*.{ts,mjs,js}', 'scripts/**/*.{mjs,js}', '*.config.{js,ts}'],
    languageOptions: { globals: { ...globals.node } },
  },
);
