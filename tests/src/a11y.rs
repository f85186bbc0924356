//! An accessibility audit of the page a browser test has open, by what Chromium itself
//! computes: the accessibility tree a screen reader reads (every control named), and
//! in the page the WCAG 2.2 checks a script can make (text contrast AA, targets of
//! 44 × 44 px for a thumb, the document's language, no sideways scrolling on a phone,
//! no tab order forced out of the reading order). It returns the problems found, each in words.

use fantoccini::Client;
use serde_json::{json, Value};

use crate::chromium::cdp;

/// Roles a person operates: each needs a name a screen reader can say.
const CONTROL_ROLES: &[&str] = &[
    "button",
    "link",
    "textbox",
    "searchbox",
    "checkbox",
    "radio",
    "combobox",
    "slider",
    "spinbutton",
    "switch",
    "listbox",
    "menuitem",
    "tab",
];

/// Controls without a name in Chromium's accessibility tree.
pub async fn unnamed_controls(c: &Client) -> Vec<String> {
    let tree = cdp(c, "Accessibility.getFullAXTree", json!({})).await;
    let text = |v: &Value| v["value"].as_str().unwrap_or_default().trim().to_string();
    tree["nodes"]
        .as_array()
        .map(|nodes| nodes.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|n| n["ignored"] != json!(true))
        .filter(|n| CONTROL_ROLES.contains(&text(&n["role"]).as_str()))
        .filter(|n| text(&n["name"]).is_empty())
        .map(|n| {
            format!(
                "a {} without a name (DOM node {})",
                text(&n["role"]),
                n["backendDOMNodeId"]
            )
        })
        .collect()
}

/// The checks made in the page; answers a list of problems.
const PAGE_AUDIT: &str = r#"
const [lang, minTarget] = arguments;
const problems = [];
const describe = (el) => {
  const t = (el.getAttribute('data-test') || '');
  const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40);
  return `<${el.tagName.toLowerCase()}${t ? ` data-test=${t}` : ''}> "${text}"`;
};
const visible = (el) => {
  const r = el.getBoundingClientRect();
  const s = getComputedStyle(el);
  return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
};
// The page's language, for a screen reader's voice.
const docLang = document.documentElement.lang || '';
if (!docLang.startsWith(lang)) problems.push(`<html lang="${docLang}">, the screen is in ${lang}`);
// A phone's screen: nothing scrolls sideways.
// (The layout viewport's width: a phone zooms out to a wide page, which widens innerWidth.)
const screenWidth = document.documentElement.clientWidth;
if (document.documentElement.scrollWidth > screenWidth + 1) {
  problems.push(`the page is ${document.documentElement.scrollWidth} px wide on a ${screenWidth} px screen`);
}
// The reading order is the tab order.
for (const el of document.querySelectorAll('[tabindex]')) {
  if (el.tabIndex > 0) problems.push(`tabindex=${el.tabIndex} on ${describe(el)}`);
}
// Text contrast (WCAG 1.4.3): 4.5:1, 3:1 for large text; disabled controls are exempt.
const rgba = (c) => {
  const m = c.match(/rgba?\(([^)]+)\)/);
  if (!m) return null;
  const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
};
const over = (fg, bg) => [0, 1, 2].map((i) => fg[i] * fg[3] + bg[i] * (1 - fg[3])).concat(1);
const background = (el) => {
  let layers = [];
  for (let e = el; e; e = e.parentElement) {
    const s = getComputedStyle(e);
    if (s.backgroundImage && s.backgroundImage !== 'none') return null; // an image: cannot tell
    const c = rgba(s.backgroundColor);
    if (c && c[3] > 0) {
      layers.push(c);
      if (c[3] >= 1) break;
    }
  }
  let bg = [255, 255, 255, 1];
  for (const c of layers.reverse()) bg = over(c, bg);
  return bg;
};
const luminance = (c) => {
  const [r, g, b] = c.slice(0, 3).map((v) => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const ratio = (a, b) => {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
};
for (const el of document.body.querySelectorAll('*')) {
  const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  if (!own || !visible(el) || el.closest('[disabled], [aria-disabled=true], [aria-hidden=true]')) continue;
  const s = getComputedStyle(el);
  const bg = background(el);
  const fg = rgba(s.color);
  if (!bg || !fg) continue;
  const size = parseFloat(s.fontSize);
  const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
  const r = ratio(over(fg, bg), bg);
  if (r < (large ? 3 : 4.5)) problems.push(`contrast ${r.toFixed(2)}:1 of ${describe(el)}`);
}
// Targets: at least minTarget CSS px each way (44 for a thumb on a phone, WCAG 2.5.5;
// AA asks 24), beyond a link inside a sentence.
const targets = document.querySelectorAll('button, a[href], input, select, textarea, [role=button]');
for (let el of targets) {
  if (el.type === 'hidden' || el.closest('[disabled]')) continue;
  // A choice's or a file picker's target is its label (the input itself may be hidden).
  if (['radio', 'checkbox', 'file'].includes(el.type) && el.labels && el.labels.length) {
    const area = (l) => { const r = l.getBoundingClientRect(); return r.width * r.height; };
    el = [...el.labels].sort((a, b) => area(b) - area(a))[0];
  }
  if (!visible(el)) continue;
  const r = el.getBoundingClientRect();
  const inline = el.tagName === 'A' && getComputedStyle(el).display === 'inline' &&
    el.parentElement && el.parentElement.innerText.trim() !== el.innerText.trim();
  if (!inline && (r.width < minTarget || r.height < minTarget)) {
    problems.push(`a target of ${Math.round(r.width)} x ${Math.round(r.height)} px: ${describe(el)}`);
  }
}
return problems;
"#;

/// Every problem on the page now, prefixed by `screen` (the step's name); `lang` is
/// the language the screen should be in (`en`, `es`).
pub async fn audit(c: &Client, screen: &str, lang: &str) -> Vec<String> {
    audit_targets(c, screen, lang, 44).await
}

/// [`audit`] with targets of at least `min_target` CSS px (24 for WCAG 2.2 AA on pages
/// made for a mouse as well as a thumb, such as the staff site's).
pub async fn audit_targets(c: &Client, screen: &str, lang: &str, min_target: u32) -> Vec<String> {
    let mut problems = unnamed_controls(c).await;
    let in_page = c
        .execute(PAGE_AUDIT, vec![json!(lang), json!(min_target)])
        .await
        .unwrap_or_else(|e| panic!("the accessibility audit failed to run: {e}"));
    problems.extend(
        in_page
            .as_array()
            .map(|a| a.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.as_str().map(str::to_string)),
    );
    problems
        .into_iter()
        .map(|p| format!("{screen}: {p}"))
        .collect()
}
