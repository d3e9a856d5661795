// Calls to the JSON API of the same origin. Every answer is
// {ok: true, data} or {ok: false, status, problem, network, timeout}.

async function call(method, path, { json, form, token, timeout, needData } = {}) {
  const headers = { Accept: 'application/json' };
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  if (token) headers.Authorization = `Bearer ${token}`;
  // A deadline covers the whole exchange, the body included: once it has
  // passed, the request is aborted and a late answer can never arrive.
  const ctrl = timeout > 0 ? new AbortController() : null;
  const timer = ctrl ? setTimeout(() => ctrl.abort(), timeout) : 0;
  const late = () => ({ ok: false, status: 0, timeout: true, problem: {} });
  try {
    let res;
    try {
      res = await fetch(path, { method, headers, body, credentials: 'same-origin', cache: 'no-store', signal: ctrl?.signal });
    } catch (err) {
      if (ctrl?.signal.aborted) return late();
      return { ok: false, status: 0, network: true, problem: { detail: String(err) } };
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      if (ctrl?.signal.aborted) return late();
      data = null;
    }
    if (ctrl?.signal.aborted) return late();
    if (!res.ok) {
      return { ok: false, status: res.status, problem: data || { title: res.statusText } };
    }
    if (needData && (data === null || typeof data !== 'object')) {
      // A 2xx without a JSON body is no answer: never a verdict.
      return { ok: false, status: res.status, problem: { type: 'bad-answer' } };
    }
    return { ok: true, status: res.status, data };
  } finally {
    clearTimeout(timer);
  }
}

/** problemText is the most useful one-line description of a failed call. */
export function problemText(r) {
  const p = r.problem || {};
  return p.detail || p.title || (r.status ? `HTTP ${r.status}` : 'network error');
}

/**
 * verifyText sends a QR text to POST /v1/verify; with opts.timeout (ms) the
 * answer is {ok: false, timeout: true} once that time has passed.
 */
export function verifyText(text, opts = {}) {
  return call('POST', '/v1/verify', { json: { qr_text: text }, timeout: opts.timeout, needData: true });
}

/** verifyImage sends a camera frame to POST /v1/verify, decoded on the server. */
export function verifyImage(blob, opts = {}) {
  const form = new FormData();
  form.append('image', blob, 'frame.jpg');
  return call('POST', '/v1/verify', { form, timeout: opts.timeout, needData: true });
}

/**
 * verifyDocument sends a signed file (and a .p7s, for a file that is not a
 * PDF) to POST /v1/verify/document. It uses XMLHttpRequest, whose upload
 * progress events report the bytes actually sent (fetch has no upload
 * progress, and Chromium streams a request body only over HTTP/2):
 * onProgress(loaded, total) is called as they go. No deadline: a large
 * file takes as long as its upload. The answer has the shape of call's.
 */
export function verifyDocument(file, sig, onProgress) {
  const form = new FormData();
  form.append('file', file, file.name || 'document');
  if (sig) form.append('signature', sig, sig.name || 'document.p7s');
  return new Promise((resolve) => {
    const x = new XMLHttpRequest();
    x.open('POST', '/v1/verify/document');
    x.setRequestHeader('Accept', 'application/json');
    if (onProgress) {
      x.upload.addEventListener('progress', (e) => {
        if (e.lengthComputable) onProgress(e.loaded, e.total);
      });
    }
    x.addEventListener('load', () => {
      let data = null;
      try {
        data = JSON.parse(x.responseText);
      } catch {
        data = null;
      }
      if (x.status < 200 || x.status > 299) {
        resolve({ ok: false, status: x.status, problem: data && typeof data === 'object' ? data : { title: x.statusText } });
      } else if (data === null || typeof data !== 'object') {
        // A 2xx without a JSON body is no answer: never a verdict.
        resolve({ ok: false, status: x.status, problem: { type: 'bad-answer' } });
      } else {
        resolve({ ok: true, status: x.status, data });
      }
    });
    const failed = () => resolve({ ok: false, status: 0, network: true, problem: { detail: 'network error' } });
    x.addEventListener('error', failed);
    x.addEventListener('abort', failed);
    x.send(form);
  });
}

/** walletSession exchanges a one-time sign-in token for a session. */
export function walletSession(loginToken) {
  return call('POST', '/v1/wallet/session', { json: { login_token: loginToken } });
}

/** walletLicences lists the signed-in holder's licences. */
export function walletLicences(token) {
  return call('GET', '/v1/wallet/licences', { token });
}

/** presentation asks for a fresh dynamic presentation token. */
export function presentation(token, id) {
  return call('POST', `/v1/wallet/licences/${encodeURIComponent(id)}/presentations`, { token, json: {} });
}

/** annotatedCopy asks for an annotated copy (加注件). */
export function annotatedCopy(token, id, req) {
  return call('POST', `/v1/wallet/licences/${encodeURIComponent(id)}/annotated-copies`, { token, json: req });
}

/** departments lists the departments in the trust list. */
export function departments() {
  return call('GET', '/v1/departments');
}

/** walletSignIn tells which sign-ins the issuer offers. */
export function walletSignIn() {
  return call('GET', '/v1/wallet/sign-in');
}

/** walletRefresh rotates the session's secret and extends it. */
export function walletRefresh(token) {
  return call('POST', '/v1/wallet/session/refresh', { token });
}

/** walletSignOut ends the session on the server. */
export function walletSignOut(token) {
  return call('DELETE', '/v1/wallet/session', { token });
}
