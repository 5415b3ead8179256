// The gate's service worker (served at /gate-sw.js, which prepends PRECACHE and VERSION): keeps the gate
// page, its scripts, styles and fonts, so a phone that reloads or reopens the browser during a Wi-Fi drop
// still scans. The page and its files are fetched from the network first (the page carries a fresh CSRF
// token, and page and scripts must be of one release); the kept copies are used only when that fails. The API and Socket.IO are never cached: the copy in IndexedDB and
// the queue in localStorage are what the page works from offline.
/* global PRECACHE, VERSION */
"use strict";

var CACHE = "kiosk-gate-" + VERSION;
var PAGE_TIMEOUT_MS = 2500;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(PRECACHE.map(function (url) {
      return fetch(url, { credentials: "same-origin", cache: "no-cache" }).then(function (response) {
        // A page behind a login that answered with the login form is not the gate: do not keep it.
        if (response.ok && !response.redirected) return cache.put(url, response);
        return null;
      });
    }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("kiosk-gate-") === 0 && k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function pageFromNetwork(request) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () { reject(new Error("timeout")); }, PAGE_TIMEOUT_MS);
    fetch(request).then(function (response) {
      clearTimeout(timer);
      if (response.ok && !response.redirected) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put("/gate", copy); });
      }
      resolve(response);
    }, function (err) { clearTimeout(timer); reject(err); });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === "/gate") {
    event.respondWith(pageFromNetwork(request).catch(function () {
      return caches.match("/gate").then(function (hit) { return hit || Response.error(); });
    }));
    return;
  }
  if (url.pathname.indexOf("/static/") === 0) {
    // From the network like the page, so a page and its scripts always come from the same release; the
    // kept copy only when the network fails.
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    }, function () {
      return caches.match(request).then(function (hit) { return hit || Response.error(); });
    }));
  }
});
