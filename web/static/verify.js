// The public verification page. A QR code in URL form opens it as
// /verify#<QR text, percent-encoded> (the fragment never reaches a server
// log) or /verify?t=<QR text, form-encoded>; it verifies at once. Anyone
// may also paste a QR text.

import * as i18n from './i18n.js';
import { verifyText } from './api.js';
import * as verdict from './verdict.js';

const form = document.getElementById('verify-form');
const area = document.getElementById('qr-text');
const card = document.getElementById('verdict');
let current = null;
let seq = 0;

// decode undoes the percent-encoding of a QR text in a URL. A QR text is
// in the QR alphanumeric set; a link made by hand may hold the raw text,
// whose '%' is Base45 and not an escape, and whose spaces the browser
// turned into %20.
function decode(s) {
  const alnum = /^[0-9A-Z $%*+\-./:]*$/;
  try {
    const d = decodeURIComponent(s);
    if (alnum.test(d)) return d;
  } catch {
    // not percent-encoded
  }
  return s.replace(/%20/g, ' ');
}

function clean(s) {
  return s.replace(/^[\s]+|[\r\n\t]+$/g, '').replace(/[\r\n]+/g, '');
}

function fromURL() {
  const hash = location.hash.slice(1);
  if (hash) return decode(hash);
  // The query is form-encoded: '+' is a space, a Base45 '+' is %2B.
  const t = new URLSearchParams(location.search).get('t');
  return t || '';
}

async function check(text) {
  const mine = ++seq;
  current = 'pending';
  verdict.render(card, current);
  const o = verdict.outcome(await verifyText(text));
  if (mine !== seq) return;
  current = o;
  verdict.render(card, o);
  card.scrollIntoView({ block: 'nearest' });
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = clean(area.value);
  if (text) check(text);
});

area.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    form.requestSubmit();
  }
});

i18n.onChange(() => verdict.render(card, current));
i18n.init();

function fromLocation() {
  const text = clean(fromURL());
  if (text) {
    area.value = text;
    check(text);
  }
}
window.addEventListener('hashchange', fromLocation);
fromLocation();
