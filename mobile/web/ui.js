// Small DOM helpers every screen uses: h() builds an element, add() appends, heading()
// is the screen's focusable title, announce() writes the aria-live status line.

export const $view = document.getElementById('view');
const $status = document.getElementById('status');


/** An element: attributes (on* listeners, value/checked as properties), then children. */
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value' || k === 'checked' || k === 'indeterminate') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid == null || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

/** Append children, leaving out null and false. */
export function add(el, ...kids) {
  for (const kid of kids.flat(Infinity)) if (kid != null && kid !== false) el.append(kid);
  return el;
}

export function heading(text, level = 'h1') {
  return h(level, { id: 'screen-heading', tabindex: '-1' }, text);
}

let announcedAt = 0;

/** A message was shown in the last 1.5 s: it stays for the screen it led to. */
export function recentlyAnnounced() {
  return Date.now() - announcedAt <= 1500;
}

export function announce(text, kind = 'info') {
  announcedAt = Date.now();
  $status.textContent = '';
  $status.className = 'status ' + kind;
  // A fresh text node so screen readers read it again even when it repeats.
  setTimeout(() => {
    $status.textContent = text;
  }, 30);
}

export function clearStatus() {
  $status.textContent = '';
  $status.className = 'status';
}


export function focusHeading() {
  const hd = document.getElementById('screen-heading');
  if (hd) hd.focus({ preventScroll: false });
  window.scrollTo(0, 0);
}

export function badge(text, kind, test) {
  return h('span', { class: 'badge ' + kind, 'data-test': test }, text);
}

export function valueText(v) {
  return v == null ? '' : String(v.value);
}
