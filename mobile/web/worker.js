// The core in a dedicated module worker (the OPFS VFS needs one). Opens the store,
// then answers {id, method, args} with {id, ok, value} or {id, ok:false, error}.
// Sync progress is posted as {event:'progress', progress}; {event:'busy'} when another
// tab has the store open (this one then waits for it to close). 'wipe' frees the store,
// deletes the database and opens a fresh one (after DeviceRevoked).

import init, { WebStore } from './pkg/sync_web.js';

const DB = 'c2c.db';
let store = null;

// Methods of WebStore the page may call.
const METHODS = new Set([
  'session', 'signIn', 'enroll', 'forms', 'startResponse', 'response', 'setAnswer',
  'addRepeat', 'finalizeResponse', 'responses', 'createHousehold', 'addMember',
  'households', 'history', 'conflicts', 'resolveConflict', 'pendingChanges',
  'pendingAttachments', 'attachBytes', 'cancelSync', 'refusedChanges',
]);

function plainError(e) {
  return {
    kind: (e && e.kind) || 'Callback',
    message: (e && e.message) || String(e),
  };
}

async function open() {
  store = await WebStore.open(DB);
}

/**
 * The store's files can be open in one tab at a time (the pool holds their access
 * handles): hold a lock for this worker's life, and when another tab holds it, say so
 * and wait for that tab to close rather than fail as if the browser kept no data.
 */
async function takeTheStore() {
  if (!navigator.locks) return;
  const holdForever = () => new Promise(() => {});
  const first = await new Promise((resolve) => {
    navigator.locks.request('c2c-store', { ifAvailable: true }, (lock) => {
      resolve(lock != null);
      return lock ? holdForever() : undefined;
    });
  });
  if (first) return;
  postMessage({ event: 'busy' });
  await new Promise((resolve) => {
    navigator.locks.request('c2c-store', () => {
      resolve();
      return holdForever();
    });
  });
}

const opening = (async () => {
  try {
    await takeTheStore();
    await init();
    await open();
    postMessage({ event: 'ready' });
  } catch (e) {
    postMessage({ event: 'ready', error: plainError(e) });
  }
})();

async function run(method, args) {
  await opening;
  if (method === 'sync') {
    return store.sync((p) => postMessage({ event: 'progress', progress: p }));
  }
  if (method === 'wipe') {
    if (store) {
      store.free();
      store = null;
    }
    await WebStore.wipe(DB);
    await open();
    return null;
  }
  if (!store) throw Object.assign(new Error('the store is not open'), { kind: 'Storage' });
  if (!METHODS.has(method)) {
    throw Object.assign(new Error(`no method ${method}`), { kind: 'Invalid' });
  }
  return store[method](...args);
}

self.addEventListener('message', async (ev) => {
  const { id, method, args = [] } = ev.data;
  try {
    const value = await run(method, args);
    // Plain objects already: the core serializes JSON-compatibly (no Map, no BigInt).
    postMessage({ id, ok: true, value: value ?? null });
  } catch (e) {
    postMessage({ id, ok: false, error: plainError(e) });
  }
});
