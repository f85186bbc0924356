// The header: the outbox count (changes waiting to be sent), the Sync button, the
// progress during a sync and its outcome. Also syncs by itself when the browser comes
// back online (or the app opens online) with something in the outbox.

import { call, onProgress } from './rpc.js';
import { t, errorMessage } from './i18n.js';
import { recentlyAnnounced, clearStatus } from './ui.js';
import { session, blocked, showing, redraw, handleError } from './app.js';
import { surveyScreen } from './survey.js';

const $bar = document.getElementById('bar');
let syncing = false;

/** A sync is running. */
export function isSyncing() {
  return syncing;
}

export function renderHeader() {
  document.title = t('app_name');
  $bar.hidden = !session || blocked;
  document.getElementById('brand').textContent = t('app_name');
  document.getElementById('outbox-label').textContent = t('outbox');
  const btn = document.getElementById('sync');
  btn.textContent = syncing ? t('syncing') : t('sync');
  document.getElementById('cancel-sync').textContent = t('cancel');
  refreshOutbox();
}

let outboxTimer = null;
export function refreshOutbox() {
  clearTimeout(outboxTimer);
  outboxTimer = setTimeout(async () => {
    if (!session || blocked) return;
    try {
      const n = Number(await call('pendingChanges'));
      const el = document.getElementById('outbox-count');
      el.textContent = String(n);
      document.getElementById('outbox').setAttribute('aria-label', t('outbox_label', { n }));
      document.getElementById('outbox').classList.toggle('waiting', n > 0);
    } catch (e) {
      /* shown at the next call that matters */
    }
  }, 150);
}

async function countConflicts() {
  const [hs, rs] = await Promise.all([call('households'), call('responses', null)]);
  return hs.filter((x) => x.has_conflicts).length + rs.filter((x) => x.has_conflicts).length;
}

export async function doSync() {
  if (syncing || !session) return;
  syncing = true;
  const panel = document.getElementById('sync-panel');
  const bar = document.getElementById('sync-progress');
  const phase = document.getElementById('sync-phase');
  const outcome = document.getElementById('sync-outcome');
  const btn = document.getElementById('sync');
  btn.disabled = true;
  btn.textContent = t('syncing');
  panel.hidden = false;
  outcome.hidden = true;
  bar.removeAttribute('value');
  phase.textContent = t('syncing');
  onProgress((p) => {
    const frac = p.bytes_total > 0 ? p.bytes_done / p.bytes_total
      : p.items_total > 0 ? p.items_done / p.items_total : null;
    if (frac == null) bar.removeAttribute('value');
    else bar.value = Math.min(1, frac);
    phase.textContent = `${t('phase_' + p.phase)} ${p.items_done}/${p.items_total}`;
  });
  let text;
  let kind = 'ok';
  try {
    const r = await call('sync');
    let conflicts = 0;
    try {
      conflicts = await countConflicts();
    } catch (e) { /* the counts are a courtesy */ }
    text = t('sync_done', { pushed: r.pushed, pulled: r.pulled, rejected: r.rejected, conflicts });
    if (r.forms) text += ' ' + t('sync_forms', { forms: r.forms });
    if (r.attachments_uploaded || r.attachments_refused) {
      text += ' ' + t('sync_attachments', { up: r.attachments_uploaded, refused: r.attachments_refused });
    }
    if (r.rejected) text += ' ' + t('sync_nothing_lost');
    // The server's reasons, as it gave them (one per refused record, the same reason once).
    const reasons = [...new Set((r.refusals || []).map((x) => x.reason))];
    if (reasons.length) text += ' ' + t('sync_refused_why', { reasons: reasons.join('; ') });
  } catch (e) {
    text = errorMessage(e);
    kind = e.kind === 'Offline' || e.kind === 'Cancelled' ? 'warn' : 'error';
    if (e.kind === 'DeviceRevoked' || e.kind === 'Unauthorized' || e.kind === 'NoPersistentStorage') {
      syncing = false;
      panel.hidden = true;
      btn.disabled = false;
      // The screen it leads to says why (in the status line): not twice.
      outcome.hidden = true;
      await handleError(e);
      renderHeader();
      return;
    }
  }
  onProgress(null);
  syncing = false;
  panel.hidden = true;
  btn.disabled = false;
  outcome.textContent = text;
  outcome.className = 'outcome ' + kind;
  outcome.hidden = false; // itself a live region: no second announcement
  if (!recentlyAnnounced()) clearStatus();
  renderHeader();
  // New households, forms or check-ins may have arrived; a survey keeps its screen.
  if (!showing(surveyScreen)) redraw();
}

document.getElementById('sync').addEventListener('click', doSync);
document.getElementById('cancel-sync').addEventListener('click', () => {
  call('cancelSync').catch(() => {});
});

/**
 * Sync by itself when something waits to be sent and the browser says it is online:
 * when the app opens and when the connection comes back. doSync() refuses to start a
 * second sync while one runs.
 */
export async function syncIfWaiting() {
  if (syncing || !session || blocked || !navigator.onLine) return;
  try {
    const [changes, files] = await Promise.all([call('pendingChanges'), call('pendingAttachments')]);
    if (Number(changes) + Number(files) > 0) await doSync();
  } catch (e) {
    /* the Sync button is still there */
  }
}

window.addEventListener('online', () => {
  syncIfWaiting();
});
