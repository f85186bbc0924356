// Service worker: the app shell and the core (pkg/) cached at install under a name with
// the build's hash (the server puts it in place of __BUILD_ID__), served cache-first
// so the app starts offline. The sync API (/v1/) is never cached. Old caches are
// deleted when a new build activates.

const CACHE = 'c2c-app-__BUILD_ID__';
const SHELL = [
  './',
  'index.html',
  'app.js',
  'ui.js',
  'sync-bar.js',
  'start.js',
  'footer.js',
  'households.js',
  'parent.js',
  'conflicts.js',
  'survey.js',
  'questions.js',
  'rpc.js',
  'worker.js',
  'i18n.js',
  'style.css',
  'manifest.webmanifest',
  'icons/icon.svg',
  'icons/icon-192.png',
  'icons/icon-512.png',
  'pkg/sync_web.js',
  'pkg/sync_web_bg.wasm',
];

// 'no-cache': revalidated against the HTTP cache (the server's ETag), so files the page
// has just downloaded are not downloaded again; a new build's files are.
self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((p) => new Request(p, { cache: 'no-cache' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('c2c-app-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/v1/')) return; // the sync API: always the network
  const scope = new URL(self.registration.scope).pathname;
  if (!url.pathname.startsWith(scope)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    // The app's pages (/app/, /app/index.html, with any query) are the cached shell.
    const key = req.mode === 'navigate' || url.pathname === scope ? './' : req;
    const hit = await cache.match(key, { ignoreSearch: true });
    if (hit) return hit;
    return fetch(req);
  })());
});
