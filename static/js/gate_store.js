// The gate's local copy in IndexedDB (checkin/gate_copy.py builds it): every invitation code as its
// SHA-256, with the display fields of its person and whether they are in, so a scan can be judged when
// the Wi-Fi is down. One store keyed by code hash, one by person id, one small record of the version.
(function () {
  "use strict";

  var NAME = "kiosk-gate", STORES = ["codes", "people", "meta"];
  var dbPromise = null;

  function request(req) {
    return new Promise(function (resolve, reject) {
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function done(tx) {
    return new Promise(function (resolve, reject) {
      tx.oncomplete = function () { resolve(); };
      tx.onerror = tx.onabort = function () { reject(tx.error); };
    });
  }
  function open() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
        var req = indexedDB.open(NAME, 1);
        req.onupgradeneeded = function () {
          var db = req.result;
          db.createObjectStore("codes", { keyPath: "hash" });
          db.createObjectStore("people", { keyPath: "id" });
          db.createObjectStore("meta", { keyPath: "key" });
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return dbPromise;
  }

  // Rows arrive as arrays with a field list beside them (40,000 invitations stay a few megabytes).
  function objects(fields, rows) {
    return rows.map(function (row) {
      var object = {};
      for (var i = 0; i < fields.length; i++) object[fields[i]] = row[i];
      return object;
    });
  }

  function meta() {
    return open().then(function (db) {
      return request(db.transaction("meta").objectStore("meta").get("copy"));
    }).then(function (record) { return record || null; });
  }

  // Write a whole copy (replacing what was there) or a delta, and its version, in one transaction:
  // a page closed half-way keeps the previous version whole.
  function apply(data, offset) {
    return open().then(function (db) {
      var tx = db.transaction(STORES, "readwrite");
      var codes = tx.objectStore("codes"), people = tx.objectStore("people");
      if (data.whole) { codes.clear(); people.clear(); }
      objects(data.person_fields, data.people).forEach(function (p) { people.put(p); });
      objects(data.code_fields, data.codes).forEach(function (c) { codes.put(c); });
      tx.objectStore("meta").put({ key: "copy", version: data.version, event: data.event, offset: offset,
                                   timezone: data.timezone, updated: Date.now(),
                                   people: data.whole ? data.people.length : undefined });
      return done(tx);
    });
  }

  function count() {
    return open().then(function (db) { return request(db.transaction("people").objectStore("people").count()); });
  }

  // {code, person} for a code hash, or null when this device has never heard of it.
  function lookup(hash) {
    return open().then(function (db) {
      return request(db.transaction("codes").objectStore("codes").get(hash)).then(function (code) {
        if (!code) return null;
        return request(db.transaction("people").objectStore("people").get(code.person)).then(function (person) {
          return { code: code, person: person || null };
        });
      });
    });
  }

  // An offline admission on this device: a second scan of the card here says "already in".
  function markIn(personId, at, gate) {
    return open().then(function (db) {
      var tx = db.transaction("people", "readwrite"), store = tx.objectStore("people");
      var get = store.get(personId);
      get.onsuccess = function () {   // read and write in the same event, inside one transaction
        var person = get.result;
        if (person && !person.in_at) {
          person.in_at = at; person.in_gate = gate; person.in_source = "offline";
          store.put(person);
        }
      };
      return done(tx);
    });
  }

  // Every person in the copy (the offline name search reads them all: 40,000 in a few hundred ms).
  function people() {
    return open().then(function (db) { return request(db.transaction("people").objectStore("people").getAll()); });
  }

  // Logging out of a shared phone leaves no names behind.
  function forget() {
    if (dbPromise) dbPromise.then(function (db) { db.close(); });
    dbPromise = null;
    return request(indexedDB.deleteDatabase(NAME)).catch(function () {});
  }

  window.kioskCopy = { meta: meta, apply: apply, count: count, lookup: lookup, markIn: markIn, people: people,
                       forget: forget };
})();
