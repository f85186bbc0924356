// The foot of the home screens: who is signed in, what the server refused, the language
// buttons, and signing out. Signing out is refused while anything waits to be sent
// (nothing may be lost); otherwise, once confirmed (and told of refused changes, which
// go with it), it erases this phone's copy and shows the start screen.

import { call } from './rpc.js';
import { t, getLang, setLang, LANGS, errorMessage, formatDate } from './i18n.js';
import { h, announce } from './ui.js';
import { session, redraw, signOut } from './app.js';
import { renderHeader, isSyncing } from './sync-bar.js';

export function langButtons() {
  return h('div', { class: 'langs', role: 'group', 'aria-label': t('language') },
    LANGS.map((l) => h('button', {
      type: 'button', lang: l.code, 'data-test': 'lang-' + l.code,
      'aria-pressed': String(getLang() === l.code),
      onclick: () => {
        setLang(l.code);
        renderHeader();
        redraw();
      },
    }, l.name)));
}

export function footer() {
  return h('footer', { class: 'foot' },
    session ? h('p', { class: 'hint' }, t('signed_in_as', { name: session.username })) : null,
    session ? refusedBlock() : null,
    langButtons(),
    session ? signOutBlock() : null);
}

/**
 * The records the server refused changes of: kept on this phone only, never sent again.
 * Empty (and hidden) when there are none.
 */
function refusedBlock() {
  const box = h('details', { class: 'refused', 'data-test': 'refused', hidden: true });
  call('refusedChanges', getLang()).then((records) => {
    if (!records.length) return;
    box.append(
      h('summary', {}, t('refused_title', { n: records.length })),
      h('p', { class: 'hint' }, t('refused_help')),
      h('ul', { class: 'problems' }, records.map((r) => h('li', { 'data-test': 'refused-row', 'data-id': r.record_id },
        h('p', { class: 'row-title' }, r.title || t('kind_' + r.kind)),
        h('p', {}, t('refused_reason', { reason: r.reason })),
        h('p', { class: 'row-sub' }, t('refused_count', { n: r.changes, when: formatDate(r.refused_at, true) }))))));
    box.hidden = false;
  }).catch(() => {});
  return box;
}

/** How many records hold refused changes (signing out erases them). */
async function refusedCount() {
  return (await call('refusedChanges', getLang())).length;
}

/** How many changes and files wait to be sent. */
async function waiting() {
  const [changes, files] = await Promise.all([call('pendingChanges'), call('pendingAttachments')]);
  return { changes: Number(changes), files: Number(files) };
}

/** Sign out: a button, then a confirmation once nothing waits to be sent. */
function signOutBlock() {
  // Shown by the button too: the status line may be scrolled out of sight.
  const note = h('p', { class: 'error', 'data-test': 'sign-out-refused' });
  const refuse = (text) => {
    note.textContent = text;
    announce(text, 'error');
  };
  const confirmText = h('p', { id: 'sign-out-text', tabindex: '-1' }, t('sign_out_confirm'));
  const yes = h('button', {
    type: 'button', class: 'danger', 'data-test': 'confirm-sign-out',
    onclick: async () => {
      yes.disabled = true;
      try {
        // Checked again: something may have been saved or a sync started meanwhile.
        const w = await waiting();
        if (isSyncing()) throw Object.assign(new Error(''), { refusal: t('sign_out_syncing') });
        if (w.changes + w.files > 0) throw Object.assign(new Error(''), { refusal: t('sign_out_refused', w) });
        await signOut();
      } catch (e) {
        yes.disabled = false;
        confirmBox.hidden = true;
        button.hidden = false;
        refuse(e.refusal || errorMessage(e));
        button.focus();
      }
    },
  }, t('sign_out_yes'));
  const no = h('button', {
    type: 'button', class: 'secondary', 'data-test': 'cancel-sign-out',
    onclick: () => {
      confirmBox.hidden = true;
      button.hidden = false;
      button.focus();
    },
  }, t('cancel'));
  const confirmBox = h('div', { class: 'confirm', role: 'group', 'aria-labelledby': 'sign-out-text', hidden: true },
    confirmText, h('div', { class: 'actions' }, yes, no));
  const button = h('button', {
    type: 'button', class: 'secondary', 'data-test': 'sign-out',
    onclick: async () => {
      button.disabled = true;
      try {
        note.textContent = '';
        if (isSyncing()) return refuse(t('sign_out_syncing'));
        const w = await waiting();
        if (w.changes + w.files > 0) return refuse(t('sign_out_refused', w));
        const refused = await refusedCount();
        confirmText.textContent = refused
          ? t('sign_out_confirm_refused', { n: refused })
          : t('sign_out_confirm');
        button.hidden = true;
        confirmBox.hidden = false;
        confirmText.focus();
      } catch (e) {
        refuse(errorMessage(e));
      } finally {
        button.disabled = false;
      }
    },
  }, t('sign_out'));
  return h('div', { class: 'sign-out' }, button, note, confirmBox);
}
