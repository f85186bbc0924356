// Before anyone is signed in: the language, the sign-in form, enrollment from a setup
// link, and the message shown when the browser cannot keep data.

import { call } from './rpc.js';
import { t, errorMessage } from './i18n.js';
import { $view, h, heading, announce } from './ui.js';
import { setSession, go, goHome, handleError } from './app.js';
import { renderHeader, doSync } from './sync-bar.js';
import { langButtons } from './footer.js';

function deviceName() {
  const ua = navigator.userAgent;
  const os = (ua.match(/Android [\d.]+|iPhone OS [\d_]+|iPad|Windows NT [\d.]+|Mac OS X [\d_]+|CrOS|Linux/) || ['?'])[0].replace(/_/g, '.');
  const browser = (ua.match(/(SamsungBrowser|Firefox|EdgA?|OPR|Chrome|Version)\/\d+/) || ['browser'])[0].replace('Version', 'Safari');
  return `Web app, ${os}, ${browser}`.slice(0, 100);
}

export function noStorageScreen() {
  $view.dataset.screen = 'no-storage';
  renderHeader();
  // Browsers keep data only for secure addresses (https://, or this computer's own): an
  // app opened at http:// on another address has none, whatever the window.
  const why = window.isSecureContext ? 'no_storage' : 'insecure';
  return [
    heading(t(why + '_title')),
    h('p', { class: 'blocked', 'data-test': 'storage-blocked', 'data-why': why, role: 'alert' }, t(why + '_body')),
    langButtons(),
  ];
}

/** The store is open in another tab of this browser; this one carries on once it closes. */
export function inAnotherTabScreen() {
  $view.dataset.screen = 'in-another-tab';
  return [
    heading(t('other_tab_title')),
    h('p', { role: 'status' }, t('other_tab_body')),
  ];
}

export function startScreen({ message, username } = {}) {
  $view.dataset.screen = 'start';
  setSession(null);
  renderHeader();
  if (message) announce(message, 'error');
  const user = h('input', {
    id: 'username', name: 'username', 'data-test': 'username', autocomplete: 'username',
    autocapitalize: 'none', spellcheck: 'false', required: true, value: username || '',
  });
  const pass = h('input', {
    id: 'password', name: 'password', type: 'password', 'data-test': 'password',
    autocomplete: 'current-password', required: true,
  });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-test': 'sign-in' }, t('sign_in'));
  const form = h('form', {
    class: 'stack',
    onsubmit: async (ev) => {
      ev.preventDefault();
      submit.disabled = true;
      submit.textContent = t('signing_in');
      try {
        setSession(await call('signIn', location.origin, user.value.trim(), pass.value, deviceName()));
        afterSignIn();
      } catch (e) {
        submit.disabled = false;
        submit.textContent = t('sign_in');
        if (e.kind === 'NoPersistentStorage') return handleError(e);
        announce(e.kind === 'Unauthorized' ? t('sign_in_failed') : errorMessage(e), 'error');
      }
    },
  },
  h('label', { for: 'username' }, t('username')), user,
  h('label', { for: 'password' }, t('password')), pass,
  submit);
  return [
    heading(t('start_title'), 'h1'),
    h('p', {}, t('language')),
    langButtons(),
    h('p', {}, t('start_intro')),
    form,
    h('p', { class: 'hint' }, t('enroll_hint')),
  ];
}

export function enrollingScreen() {
  $view.dataset.screen = 'enrolling';
  return [heading(t('enrolling'), 'h1'), h('progress', { 'aria-label': t('enrolling') })];
}

export async function enroll(code) {
  await go(enrollingScreen);
  try {
    setSession(await call('enroll', location.origin, code, deviceName()));
    announce(t('enrolled'), 'ok');
    await afterSignIn();
  } catch (e) {
    if (e.kind === 'NoPersistentStorage') return handleError(e);
    await go(startScreen, { message: e.kind === 'Unauthorized' ? t('enroll_failed') : errorMessage(e) });
  }
}

export async function askPersistence() {
  try {
    if (navigator.storage && navigator.storage.persist) {
      const granted = await navigator.storage.persist();
      if (!granted && !localStorage.getItem('c2c.persistWarned')) {
        localStorage.setItem('c2c.persistWarned', '1');
        announce(t('storage_warning'), 'warn');
      }
    }
  } catch (e) { /* not offered by this browser */ }
}

export async function afterSignIn() {
  renderHeader();
  askPersistence();
  await goHome();
  // The first sync brings the forms and the households (a parent's children) at once.
  doSync();
}
