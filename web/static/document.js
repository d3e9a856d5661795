// The signed-file form of the counter and the public verification page
// (document.tmpl): a signed PDF, or any file with its .p7s, dropped on the
// drop zone (or anywhere on the page) or chosen with the file inputs,
// which stay keyboard-accessible. The upload limit is stated before
// anything is sent, and a file over it, an empty file, or a file that is
// not a PDF and has no .p7s is refused here, before any upload; a large
// upload shows its progress in bytes actually sent (XMLHttpRequest upload
// events). The verifier's answer is worded as a file's by verdict.js.

import * as i18n from './i18n.js';
import { t } from './i18n.js';
import { verifyDocument } from './api.js';
import * as verdict from './verdict.js';

/**
 * maxDocument is the largest upload POST /v1/verify/document takes: the
 * whole multipart body (web.Config.MaxDocument, given to the page as
 * data-max-document).
 */
export const maxDocument = Number(document.documentElement.dataset.maxDocument) || 50 * 1024 * 1024;

const enc = new TextEncoder();

/**
 * uploadSize is the size of the multipart body the browser sends for file
 * and sig, as the server's limit counts it: the files, and for each part a
 * boundary line and headers (Chromium's boundary is 38 characters; a
 * filename may be escaped, so its bytes are counted three times). It errs
 * high by a few hundred bytes, never low.
 */
export function uploadSize(file, sig) {
  let n = 64;
  for (const f of [file, sig]) {
    if (f) n += f.size + 256 + 3 * enc.encode(f.name || '').length;
  }
  return n;
}

/** isPDF reports whether a file is a PDF as the verifier tells: %PDF- within its first 1024 bytes. */
async function isPDF(file) {
  const b = new Uint8Array(await file.slice(0, 1024).arrayBuffer());
  const magic = [0x25, 0x50, 0x44, 0x46, 0x2d];
  for (let i = 0; i + magic.length <= b.length; i++) {
    if (magic.every((c, j) => b[i + j] === c)) return true;
  }
  return false;
}

/** isSignature reports whether a file is named as a .p7s signature. */
function isSignature(f) {
  return /\.p7s$/i.test(f.name || '');
}

// describe is what the card says of an upload: the file's name and size,
// whether a .p7s went with it, and the two files' size together.
function describe(file, sig) {
  return { name: file.name || '', size: file.size, total: file.size + (sig ? sig.size : 0), sig: !!sig };
}

/**
 * precheck returns the outcome of a file that must not be sent — empty,
 * over the limit, or not a PDF and without a .p7s — or null.
 */
export async function precheck(file, sig) {
  const upload = describe(file, sig);
  const refuse = (cause, params) => ({ local: 'unreadable', cause, params, notChecked: true, upload });
  if (file.size === 0) return refuse('docEmpty', { name: file.name || '' });
  if (sig && sig.size === 0) return refuse('sigEmpty');
  if (uploadSize(file, sig) > maxDocument) {
    return refuse('docTooLarge', { size: verdict.sizeText(upload.total), max: verdict.sizeText(maxDocument) });
  }
  if (!sig && !(await isPDF(file))) return refuse('notPdf', { name: file.name || '' });
  return null;
}

// The progress of the newest upload; an older one, still going, no longer
// moves the bar.
let uploads = 0;
let progressBox = null;
let progressBar = null;
let progressText = null;
let progressState = null; // {sent, total} of the newest upload, for a language change

function showProgress(mine, sent, total) {
  if (mine !== uploads || !progressBar) return;
  progressState = { sent, total };
  progressBox.hidden = false;
  progressBar.max = total;
  progressBar.value = sent;
  progressText.textContent = sent < total
    ? t('doc.progress', { sent: verdict.sizeText(sent), total: verdict.sizeText(total), pct: String(Math.floor((100 * sent) / total)) })
    : t('doc.uploaded', { total: verdict.sizeText(total) });
}

/**
 * checkFile verifies file (and sig, its .p7s) and returns the outcome the
 * card shows: the page's own refusal, or the verifier's answer.
 */
export async function checkFile(file, sig) {
  let local;
  try {
    local = await precheck(file, sig);
  } catch {
    // The file was moved or deleted since it was chosen.
    local = { local: 'unreadable', cause: 'docNoRead', params: { name: file.name || '' }, notChecked: true, upload: describe(file, sig) };
  }
  if (local) return local;
  const mine = ++uploads;
  showProgress(mine, 0, uploadSize(file, sig));
  const answer = await verifyDocument(file, sig, (sent, total) => showProgress(mine, sent, total));
  if (mine === uploads && progressBox) {
    progressBox.hidden = true;
    progressState = null;
  }
  return verdict.outcome(answer, '', describe(file, sig));
}

function setFiles(input, files) {
  const dt = new DataTransfer();
  for (const f of files) dt.items.add(f);
  input.files = dt.files;
}

/**
 * setup wires the form on the page: verify(file, sig) is called for a
 * complete choice — on a drop at once, from the chooser with the button —
 * and shows the verification as the page does (the card, the recent list).
 */
export function setup(verify) {
  const form = document.getElementById('doc-form');
  const zone = document.getElementById('doc-drop');
  const fileIn = document.getElementById('doc-file');
  const sigIn = document.getElementById('doc-sig');
  const limit = document.getElementById('doc-limit');
  const status = document.getElementById('doc-status');
  progressBox = document.getElementById('doc-upload');
  progressBar = document.getElementById('doc-progress');
  progressText = document.getElementById('doc-progress-text');

  let said = null; // [key, params] of the status line
  const say = (key, params) => {
    said = key ? [key, params] : null;
    status.textContent = key ? t(key, params) : '';
  };
  const words = () => {
    limit.textContent = t('doc.limit', { max: verdict.sizeText(maxDocument) });
    if (said) status.textContent = t(said[0], said[1]);
    if (progressState) showProgress(uploads, progressState.sent, progressState.total);
  };
  i18n.onChange(words);
  words();

  async function go() {
    const file = fileIn.files[0];
    const sig = sigIn.files[0];
    if (!file) {
      say(sig ? 'doc.needFile' : 'doc.chooseFirst');
      return;
    }
    say('');
    verify(file, sig);
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    go();
  });
  fileIn.addEventListener('change', () => say(''));
  sigIn.addEventListener('change', () => say(''));

  // take handles dropped files: one file, optionally with its .p7s; a
  // .p7s alone joins the file already chosen. A new file without a .p7s
  // clears the old one, which signs another file.
  async function take(list) {
    const files = [...list];
    const sigs = files.filter(isSignature);
    const others = files.filter((f) => !isSignature(f));
    if (others.length > 1 || sigs.length > 1) {
      say('doc.dropOne');
      return;
    }
    if (others.length === 1) {
      setFiles(fileIn, others);
      setFiles(sigIn, sigs);
      if (sigs.length === 0 && others[0].size > 0 && uploadSize(others[0]) <= maxDocument && !(await isPDF(others[0]).catch(() => true))) {
        // Wait for its .p7s: dropping it next verifies both.
        say('doc.needSig', { name: others[0].name || '' });
        return;
      }
    } else if (sigs.length === 1) {
      setFiles(sigIn, sigs);
    } else {
      return;
    }
    go();
  }

  // A file dropped anywhere on the page is taken, never opened by the
  // browser in place of the page.
  let depth = 0;
  const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');
  document.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth++;
    zone.dataset.state = 'over';
  });
  document.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) zone.dataset.state = '';
  });
  document.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  });
  document.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    zone.dataset.state = '';
    take(e.dataTransfer.files);
  });
}
