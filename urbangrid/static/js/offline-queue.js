/* The phone's outbox: reports are stored in IndexedDB (with their photos as Blobs) under the
   client request id BEFORE the first send attempt, removed only after the server confirmed them.
   The server's intake is idempotent by request id, so a resend after a lost answer returns the
   first case instead of opening a second one: each report is received exactly once. */
(function (root) {
  "use strict";
  var DB = "urbangrid-field", STORE = "outbox", db = null;
  function open() {
    if (db) return Promise.resolve(db);
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: "id" }); };
      req.onsuccess = function () { db = req.result; resolve(db); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function tx(mode, fn) {
    return open().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = d.transaction(STORE, mode), store = t.objectStore(STORE), out = fn(store);
        t.oncomplete = function () { resolve(out && out.result !== undefined ? out.result : undefined); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }
  function uuid() {
    if (root.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16); crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : (document.body.dataset.csrf || "");
  }
  var flushing = null;
  var Q = {
    uuid: uuid,
    csrf: csrf,
    /* entry: {id, url, fields: {name: value}, files: [{name, blob, filename}], created, label,
       refused: {status, error, field} once the server refused it (kept for the person to fix)} */
    add: function (entry) { return tx("readwrite", function (s) { return s.put(entry); }); },
    all: function () { return tx("readonly", function (s) { return s.getAll(); }); },
    remove: function (id) { return tx("readwrite", function (s) { return s.delete(id); }); },
    count: function () { return tx("readonly", function (s) { return s.count(); }); },
    /* Send one entry. Resolves {ok, data} for an answer from the server (accepted or refused),
       rejects on a network failure (the entry stays queued). */
    send: function (entry) {
      var fd = new FormData();
      Object.keys(entry.fields).forEach(function (k) { fd.append(k, entry.fields[k]); });
      fd.set("request_id", entry.id);
      (entry.files || []).forEach(function (f) { fd.append(f.name, f.blob, f.filename || "photo.jpg"); });
      return fetch(entry.url, { method: "POST", body: fd, credentials: "same-origin",
        headers: { "X-CSRFToken": csrf(), "X-Requested-With": "fetch" } })
        .then(function (r) {
          // A sign-in page (expired session) or a proxy error page is not an answer: keep it queued.
          if (r.redirected || (r.headers.get("content-type") || "").indexOf("json") < 0) throw new Error("no answer");
          return r.json().catch(function () { return {}; }).then(function (data) {
            if (r.status >= 500 || r.status === 401 || r.status === 403 && !data.error) throw new Error("server " + r.status);
            return { ok: r.ok, status: r.status, data: data };
          });
        });
    },
    /* Entries still to send (refused ones wait for the person to fix them). */
    pending: function () {
      return Q.all().then(function (items) { return items.filter(function (e) { return !e.refused; }); });
    },
    /* Send everything queued, one at a time; only one flush runs at once in this page. */
    flush: function (onResult) {
      if (flushing) return flushing;
      flushing = Q.pending().then(function (items) {
        items.sort(function (a, b) { return a.created - b.created; });
        var chain = Promise.resolve();
        items.forEach(function (entry) {
          chain = chain.then(function () {
            return Q.send(entry).then(function (res) {
              // Accepted: it leaves the outbox. Refused (bad input): it stays, with the reason,
              // until the person fixes or discards it; resending it unchanged would be refused again.
              var done = res.ok ? Q.remove(entry.id) : Q.add(Object.assign({}, entry, {
                refused: { status: res.status, error: (res.data && res.data.error) || "", field: (res.data && res.data.field) || "" }
              }));
              return done.then(function () { if (onResult) onResult(entry, res); });
            });
          });
        });
        return chain;
      }).catch(function () { /* offline again: stays queued */ }).then(function () { flushing = null; });
      return flushing;
    }
  };
  root.UGQueue = Q;
})(window);
