/* urbangrid field app service worker: caches the app shell so the report page opens without a
   network; pages are network-first (fresh tasks when online), static assets cache-first. */
const CACHE = "urbangrid-shell-{{ version }}";
const ASSETS = {{ assets|safe }};
const PAGES = {{ pages|safe }};
self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS.concat(PAGES))).catch(() => null).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k.startsWith("urbangrid-shell-") && k !== CACHE).map((k) => caches.delete(k)))).then(() => self.clients.claim()));
});
self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(req).then((hit) => hit || fetch(req).then((resp) => {
      if (resp.ok) { const copy = resp.clone(); caches.open(CACHE).then((c) => c.put(req, copy)); }
      return resp;
    })));
    return;
  }
  if (req.mode === "navigate") {
    event.respondWith(fetch(req).then((resp) => {
      if (resp.ok && PAGES.includes(url.pathname)) { const copy = resp.clone(); caches.open(CACHE).then((c) => c.put(url.pathname, copy)); }
      return resp;
    }).catch(() => caches.match(url.pathname).then((hit) => hit || caches.match(PAGES[0]))));
  }
});
