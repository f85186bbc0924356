// The field app's entry point: boot, navigation between screens, and the errors every
// screen treats alike. The core runs in worker.js; every call goes through rpc.js. No
// framework: each screen is a function that builds its DOM into <main>. The screens live in
// start.js, households.js, survey.js (+ questions.js), conflicts.js and parent.js; the
// header in sync-bar.js; the foot of the home screens (language, sign out) in footer.js;
// DOM helpers in ui.js. README.md says what lives where.
//
// Test hooks (stable; browser tests rely on them):
//   window.c2cReady                  promise: the store is open and the first screen drawn
//   #screen-heading                  the current screen's heading (focused on navigation)
//   data-screen="<name>" on <main>   start | enrolling | no-storage | in-another-tab | worker-home | add-household |
//                                    household | survey | conflicts | parent-home | error
//   data-test="lang-en" / "lang-es"  language buttons (start screen and home screens)
//   data-test="username" / "password" / "sign-in"   the sign-in form
//   data-test="outbox-count"         number of changes waiting to be sent (header)
//   data-test="sync"                 Sync button (header); data-test="cancel-sync"
//   data-test="sync-progress"        <progress> during a sync
//   data-test="sync-outcome"         the last sync's outcome (or its error), translated
//   data-test="status"               the aria-live status region
//   data-test="household-search"     search box; data-test="household-row" (data-id) rows
//   data-test="add-household"        opens the form; data-test="household-name" / "household-address"
//                                    / "save-household"
//   data-test="member-name" / "member-relationship" / "member-birth-date" / "save-member"
//   data-test="member-row"           a member (data-id)
//   data-test="start-form"           start a survey (data-form = form id)
//   data-test="response-row"         a response (data-id, data-final="true|false")
//   data-test="conflict-badge"       shown on rows whose record has conflicts
//   data-test="resolve-conflicts"    opens the conflicts screen of a record (data-id)
//   survey: data-test="question" blocks with data-path; inputs have name = the question path;
//     data-test="question-error", "progress", "prev", "next", "close-survey",
//     "add-repeat" (data-repeat = repeat path), "instance-link", "finalize",
//     "problem-link" (data-path), "finalize-result"
//   conflicts: data-test="conflict" (data-path), radios name="conflict:<path>" with
//     data-test="conflict-value", data-test="conflict-note", data-test="resolve"
//   parent: data-test="child-row" (data-id), "start-checkin" (data-child), "checkin-row"
//   data-test="storage-blocked"      the no-persistent-storage message (data-why = no_storage |
//                                    insecure: an http:// address, where browsers keep no data)
//   data-test="other-error"          on the review screen: a problem no question carries
//   data-test="sign-out"             sign out (home screens' foot); then "confirm-sign-out" /
//                                    "cancel-sign-out"; "sign-out-refused" says why it was refused

import { call, ready, onBusy } from './rpc.js';
import { t, errorMessage } from './i18n.js';
import { $view, h, heading, announce, clearStatus, recentlyAnnounced, focusHeading } from './ui.js';
import { renderHeader, syncIfWaiting } from './sync-bar.js';
import { noStorageScreen, inAnotherTabScreen, startScreen, enrollingScreen, enroll, askPersistence } from './start.js';
import { workerHome } from './households.js';
import { parentHome } from './parent.js';

/** Who is signed in (the core's session), or null. */
export let session = null;
/** No persistent storage: nothing may be filled in. */
export let blocked = false;
let current = null; // {fn, args}: the screen shown, redrawn after a sync or a language change
let backAction = null; // what the phone's back button does on this screen (null: leave the app)

export function setSession(s) {
  session = s;
}

/** What the phone's back button does on the screen being drawn. */
export function setBack(fn) {
  backAction = fn;
}

/** Screen `fn` is the one shown. */
export function showing(fn) {
  return current != null && current.fn === fn;
}

/** Show screen `fn(...args)`: it returns the nodes of <main>. Focus goes to its heading. */
export async function go(fn, ...args) {
  current = { fn, args };
  backAction = HOMES.has(fn) ? null : goHome;
  // A message stays for the screen it led to, not for the ones after.
  if (!recentlyAnnounced()) clearStatus();
  let nodes;
  try {
    nodes = await fn(...args);
  } catch (e) {
    if (await handleError(e)) return;
    nodes = [heading(t('error_title')), h('p', { class: 'error' }, errorMessage(e)),
      session ? h('button', { type: 'button', class: 'secondary', onclick: () => goHome() }, t('back')) : null];
    $view.dataset.screen = 'error';
  }
  if (current.fn !== fn) return; // another navigation won
  $view.replaceChildren(...[nodes].flat(Infinity).filter((n) => n != null && n !== false));
  focusHeading();
}

export function redraw() {
  if (current) go(current.fn, ...current.args);
}

/**
 * Errors every screen treats alike. Returns true when it took the user elsewhere.
 */
export async function handleError(e) {
  const kind = e && e.kind;
  if (kind === 'NoPersistentStorage') {
    blocked = true;
    go(noStorageScreen);
    return true;
  }
  if (kind === 'DeviceRevoked') {
    await wipeAndRestart();
    return true;
  }
  if (kind === 'Unauthorized' || kind === 'NotSignedIn') {
    const username = session && session.username;
    go(startScreen, { message: t('err_' + kind), username });
    return true;
  }
  announce(errorMessage(e), 'error');
  return false;
}

async function wipeAndRestart() {
  try {
    await call('wipe');
  } catch (e) {
    announce(errorMessage(e), 'error');
  }
  forget();
  go(startScreen, { message: t('err_DeviceRevoked') });
}

/** Forget the session and the screens drafts were left on. */
function forget() {
  session = null;
  for (const key of Object.keys(localStorage)) if (key.startsWith('c2c.screen.')) localStorage.removeItem(key);
  renderHeader();
}

/**
 * Sign out: free and wipe the store, then the start screen. The caller checked that
 * nothing waits to be sent. A wipe that fails keeps the user signed in.
 */
export async function signOut() {
  const saved = session;
  session = null; // no sync may start meanwhile
  try {
    await call('wipe');
  } catch (e) {
    session = saved;
    throw e;
  }
  const username = saved && saved.username;
  forget();
  announce(t('signed_out'), 'ok');
  await go(startScreen, { username });
}

export function goHome() {
  if (session && session.role === 'parent') return go(parentHome);
  return go(workerHome);
}

// ------------------------------------------------------------------------------ boot

// Screens where the phone's back button leaves the app.
const HOMES = new Set([startScreen, workerHome, parentHome, noStorageScreen, enrollingScreen]);

/**
 * The phone's back button: one extra history entry is kept; going back to the one
 * below it runs the screen's back action and puts the entry back. On a home screen
 * the back button leaves the app as usual.
 */
function trapBackButton() {
  history.replaceState({ c2c: 'base' }, '');
  history.pushState({ c2c: 'app' }, '');
  window.addEventListener('popstate', (ev) => {
    if (!ev.state || ev.state.c2c !== 'base') return;
    if (backAction) {
      history.pushState({ c2c: 'app' }, '');
      backAction();
    } else {
      history.back();
    }
  });
}

function registerServiceWorker() {
  if ('serviceWorker' in navigator && location.protocol !== 'file:') {
    navigator.serviceWorker.register('./sw.js', { scope: './' }).catch(() => {});
  }
}

/** The enrollment code from `#enroll=<code>`, dropped from the address at once. */
function takeEnrollCode() {
  const m = location.hash.match(/^#enroll=([^&]+)/);
  if (!m) return null;
  history.replaceState(null, '', location.pathname + location.search);
  return decodeURIComponent(m[1]);
}

async function boot() {
  const code = takeEnrollCode();
  trapBackButton();
  // A setup link opened while the app is already open only changes the fragment.
  window.addEventListener('hashchange', () => {
    const later = takeEnrollCode();
    if (later && !blocked) enroll(later);
  });
  renderHeader();
  // Open in another tab: say so until that tab closes, then carry on from here.
  onBusy(() => go(inAnotherTabScreen));
  try {
    await ready;
  } catch (e) {
    registerServiceWorker();
    if (e.kind === 'NoPersistentStorage') {
      blocked = true;
      return go(noStorageScreen);
    }
    return go(() => {
      $view.dataset.screen = 'error';
      return [heading(t('error_title')), h('p', { class: 'error', role: 'alert' }, errorMessage(e))];
    });
  }
  // Registered once the core is loaded: the worker's download of the wasm is then in
  // the HTTP cache, and the service worker's copy is a revalidation, not a second
  // download of the largest file.
  registerServiceWorker();
  if (code) return enroll(code);
  try {
    session = await call('session');
  } catch (e) {
    if (await handleError(e)) return undefined;
  }
  if (!session) return go(startScreen);
  renderHeader();
  askPersistence();
  await goHome();
  syncIfWaiting(); // something left unsent last time goes now, when online
  return undefined;
}

// The mark is what the start-up benchmark reads (docs/benchmarks.md).
window.c2cReady = boot().finally(() => performance.mark('c2c-ready'));
