import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from '@/app/App';
import { queryClient } from '@/app/queryClient';
import { prefetchEvent } from '@/features/events/api';
import { prefetchSeatMap } from '@/features/seating/api';
import { restore } from '@/lib/session';
import './styles.css';

// The event page's data does not wait for the session or the first render.
const eventPath = /^\/events\/([0-9a-f-]{36})$/.exec(window.location.pathname);
if (eventPath) {
  prefetchEvent(queryClient, eventPath[1]);
  prefetchSeatMap(queryClient, eventPath[1]);
}
void restore();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  void navigator.serviceWorker.register('/sw.js', { scope: '/' });
  // What this page loaded before the worker took control: the worker keeps a copy for offline use.
  const cacheLoaded = () =>
    navigator.serviceWorker.ready.then((reg) =>
      reg.active?.postMessage({ type: 'cache', urls: performance.getEntriesByType('resource').map((e) => e.name) }),
    );
  window.addEventListener('load', () => void cacheLoaded());
  // And the lazy chunks loaded later (the door, the console).
  new PerformanceObserver((list) => {
    const urls = list.getEntries().map((e) => e.name).filter((u) => u.includes('/assets/'));
    if (urls.length) void navigator.serviceWorker.ready.then((reg) => reg.active?.postMessage({ type: 'cache', urls }));
  }).observe({ type: 'resource' });
}
