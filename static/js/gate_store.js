// The gate's local copy in IndexedDB (checkin/gate_copy.py builds it): every invitation code as its
// SHA-256, with the display fields of its person and whether they are in, so a scan can be judged when
// the Wi-Fi is down. Codes in buckets by hash, people in buckets by id, and one record of the version.
(function () {
  "use strict";

  // Buckets, not one record per code: IndexedDB pays per record written, and a 40,000-name event would be
  // 80,000 writes (seconds on a phone). Codes go by the first two hex digits of their hash (256 buckets),
  // people by id / 256; a lookup reads one small bucket of each.
  var NAME = "kiosk-gate", VERSION = 2, STORES = ["codes", "people", "meta"];
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
        var req = indexedDB.open(NAME, VERSION);
        req.onupgradeneeded = function () {
          var db = req.result;
          STORES.forEach(function (name) { if (db.objectStoreNames.contains(name)) db.deleteObjectStore(name); });
          db.createObjectStore("codes", { keyPath: "b" });
          db.createObjectStore("people", { keyPath: "b" });
          db.createObjectStore("meta", { keyPath: "key" });
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return dbPromise;
  }

  function codeBucket(hash) { return hash.slice(0, 2); }
  function personBucket(id) { return String(Math.floor(id / 256)); }

  // Rows arrive as arrays with a field list beside them (40,000 invitations stay a few megabytes).
  function objects(fields, rows) {
    return rows.map(function (row) {
      var object = {};
      for (var i = 0; i < fields.length; i++) object[fields[i]] = row[i];
      return object;
    });
  }
  function buckets(data) {
    var codes = {}, people = {};
    objects(data.person_fields, data.people).forEach(function (p) {
      var b = personBucket(p.id);
      (people[b] = people[b] || {})[p.id] = p;
    });
    objects(data.code_fields, data.codes).forEach(function (c) {
      var b = codeBucket(c.hash);
      (codes[b] = codes[b] || {})[c.hash] = { person: c.person, revoked: c.revoked };
    });
    return { codes: codes, people: people };
  }

  // Read, merge and write back every bucket a delta touches, inside the caller's transaction; `then` gets
  // how many entries were new.
  function merge(store, changed, then) {
    var keys = Object.keys(changed), left = keys.length, added = 0;
    if (!left) { then(0); return; }
    keys.forEach(function (key) {
      var get = store.get(key);
      get.onsuccess = function () {
        var record = get.result || { b: key, e: {} };
        Object.keys(changed[key]).forEach(function (k) {
          if (!(k in record.e)) added += 1;
          record.e[k] = changed[key][k];
        });
        store.put(record);
        left -= 1;
        if (left === 0) then(added);
      };
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
      var codes = tx.objectStore("codes"), people = tx.objectStore("people"), metaStore = tx.objectStore("meta");
      var parts = buckets(data);
      function writeMeta(count) {
        metaStore.put({ key: "copy", version: data.version, event: data.event, instance: data.instance, offset: offset,
                        timezone: data.timezone, updated: Date.now(), people: count });
      }
      if (data.whole) {
        codes.clear(); people.clear();   // requests run in order: the puts below land after the clears
        Object.keys(parts.codes).forEach(function (b) { codes.put({ b: b, e: parts.codes[b] }); });
        Object.keys(parts.people).forEach(function (b) { people.put({ b: b, e: parts.people[b] }); });
        writeMeta(data.people.length);
      } else {
        var before = metaStore.get("copy");
        before.onsuccess = function () {
          var count = (before.result && before.result.people) || 0;
          merge(codes, parts.codes, function () {});
          merge(people, parts.people, function (added) { writeMeta(count + added); });
        };
      }
      return done(tx);
    });
  }

  function count() {
    return meta().then(function (m) { return m ? m.people || 0 : 0; });
  }

  // {code, person} for a code hash, or null when this device has never heard of it.
  function lookup(hash) {
    return open().then(function (db) {
      return request(db.transaction("codes").objectStore("codes").get(codeBucket(hash))).then(function (record) {
        var code = record && record.e[hash];
        if (!code) return null;
        return request(db.transaction("people").objectStore("people").get(personBucket(code.person)))
          .then(function (bucket) {
            return { code: { hash: hash, person: code.person, revoked: code.revoked },
                     person: (bucket && bucket.e[code.person]) || null };
          });
      });
    });
  }

  // An offline admission on this device: a second scan of the card here says "already in".
  function markIn(personId, at, gate) {
    return open().then(function (db) {
      var tx = db.transaction("people", "readwrite"), store = tx.objectStore("people");
      var get = store.get(personBucket(personId));
      get.onsuccess = function () {   // read and write in the same event, inside one transaction
        var bucket = get.result, person = bucket && bucket.e[personId];
        if (person && !person.in_at) {
          person.in_at = at; person.in_gate = gate; person.in_source = "offline";
          store.put(bucket);
        }
      };
      return done(tx);
    });
  }

  // Every person in the copy (the offline name search reads them all).
  function people() {
    return open().then(function (db) {
      return request(db.transaction("people").objectStore("people").getAll());
    }).then(function (records) {
      var all = [];
      records.forEach(function (record) {
        Object.keys(record.e).forEach(function (id) { all.push(record.e[id]); });
      });
      return all;
    });
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
