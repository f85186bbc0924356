// The page's side of the worker: one promise per call.
// Messages: page -> worker {id, method, args}; worker -> page {id, ok:true, value} or
// {id, ok:false, error:{kind, message}}; events {event:'ready'|'progress'|'busy', ...}.

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const pending = new Map();
let nextId = 1;
let progressListener = null;
let busyListener = null;

let readyResolve;
/** Settles once the worker opened the store: resolves, or rejects with the error. */
export const ready = new Promise((resolve, reject) => {
  readyResolve = { resolve, reject };
});

/** An Error carrying the core's kind. */
export function toError(e) {
  const err = new Error((e && e.message) || 'unknown error');
  err.kind = (e && e.kind) || 'Callback';
  return err;
}

worker.addEventListener('message', (ev) => {
  const msg = ev.data;
  if (msg.event === 'ready') {
    if (msg.error) readyResolve.reject(toError(msg.error));
    else readyResolve.resolve();
    return;
  }
  if (msg.event === 'busy') {
    if (busyListener) busyListener();
    return;
  }
  if (msg.event === 'progress') {
    if (progressListener) progressListener(msg.progress);
    return;
  }
  const call = pending.get(msg.id);
  if (!call) return;
  pending.delete(msg.id);
  if (msg.ok) call.resolve(msg.value);
  else call.reject(toError(msg.error));
});

worker.addEventListener('error', (ev) => {
  // A worker that failed to load (e.g. the wasm module is missing).
  readyResolve.reject(toError({ kind: 'Storage', message: ev.message || 'the worker failed to start' }));
  for (const call of pending.values()) call.reject(toError({ kind: 'Storage', message: 'worker stopped' }));
  pending.clear();
});

/** Call `method` of the store in the worker. */
export function call(method, ...args) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, method, args });
  });
}

/** Where sync progress events go ({phase, items_done, items_total, bytes_done, bytes_total}). */
export function onProgress(fn) {
  progressListener = fn;
}

/** What to do when another tab has the store open (`ready` then waits for that tab to close). */
export function onBusy(fn) {
  busyListener = fn;
}
