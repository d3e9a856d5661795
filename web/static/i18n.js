// Chinese first, English switchable. The choice is the only thing these
// pages keep in localStorage: it is not personal data.

const storageKey = 'elicence.lang';

export const messages = {
  zh: {
    'skip': '跳到主要内容',
    'brand': '电子证照',
    'nav': '页面',
    'nav.counter': '窗口核验',
    'nav.wallet': '亮证',
    'nav.verify': '在线核验',
    'lang.other': 'English',
    'lang.otherLabel': 'Switch to English',
    'lang.otherTag': 'en',

    'counter.title': '窗口核验 · 电子证照',
    'counter.heading': '窗口核验',
    'counter.scanLabel': '扫描或输入证照二维码',
    'counter.scanHint': '扫码枪扫描后自动核验；也可粘贴二维码内容后按回车。',
    'counter.verify': '核验',
    'counter.cameraStart': '摄像头扫码',
    'counter.cameraStop': '关闭摄像头',
    'counter.cameraVideo': '摄像头画面',
    'counter.cameraStarting': '正在打开摄像头…',
    'counter.cameraScanning': '请将二维码对准摄像头',
    'counter.cameraUnreadable': '已看到二维码但无法读取，请放平、靠近并对准焦距',
    'counter.cameraDenied': '未获得摄像头权限，请在浏览器中允许使用摄像头',
    'counter.cameraMissing': '未找到摄像头',
    'counter.cameraFailed': '无法打开摄像头（{code}），请检查摄像头连接后重试',
    'counter.cameraBusy': '摄像头正被其他程序使用，请关闭该程序后重试',
    'counter.cameraUnsupported': '此浏览器不支持摄像头扫码（需要 HTTPS 或本机地址）',
    'counter.clear': '清除',
    'counter.recent': '本次核验记录',
    'counter.recentHint': '仅保存在本页内存中，关闭页面即清除。',
    'counter.recentEmpty': '暂无记录',

    'verify.title': '在线核验 · 电子证照',
    'verify.heading': '电子证照在线核验',
    'verify.intro': '用手机相机扫描证照上的二维码会自动打开本页；也可以把二维码内容粘贴到下面。',
    'verify.label': '二维码内容',
    'verify.submit': '核验',

    'wallet.title': '亮证 · 电子证照',
    'wallet.heading': '我的证照',
    'wallet.signinNeeded': '请使用发证部门发给您的一次性登录链接打开本页。',
    'wallet.signingIn': '正在登录…',
    'wallet.signinFailed': '登录链接无效或已使用，请向发证部门重新获取。',
    'wallet.sessionExpired': '登录已过期，请向发证部门重新获取登录链接。',
    'wallet.signout': '退出',
    'wallet.loading': '正在加载…',
    'wallet.loadFailed': '无法加载证照：{detail}',
    'wallet.none': '该部门暂未向您签发电子证照。',
    'wallet.scopeHint': '此登录链接由发证部门发放，只显示该部门签发给您的证照。',
    'wallet.chooseHint': '点选一张证照出示二维码。',
    'wallet.back': '返回证照列表',
    'wallet.dynamic': '动态码',
    'wallet.dynamicHint': '请出示给窗口人员扫描。二维码会自动刷新，截图无效。',
    'wallet.countdown': '{s} 秒后刷新',
    'wallet.refreshing': '正在刷新…',
    'wallet.static': '静态码',
    'wallet.staticWarning': '静态码，仅限离线出示，请以窗口核验为准',
    'wallet.offline': '当前无网络，无法生成动态码。',
    'wallet.retry': '重试',
    'wallet.annotate': '生成加注件',
    'wallet.annotateHint': '加注件只对指定部门、在有效期内、为所填事由有效。',
    'wallet.department': '用证部门',
    'wallet.departmentChoose': '请选择',
    'wallet.purpose': '事由',
    'wallet.purposePlaceholder': '例如：办理企业开户',
    'wallet.expiry': '有效期至',
    'wallet.create': '生成',
    'wallet.annotated': '加注件',
    'wallet.annotatedFor': '出具给 {dept}，事由：{purpose}，有效期至 {until}',
    'wallet.annotateFailed': '无法生成加注件：{detail}',
    'wallet.formIncomplete': '请选择用证部门并填写事由和有效期。',
    'wallet.qrLabel': '{type} 二维码',
    'wallet.status.valid': '有效',
    'wallet.status.revoked': '已吊销',
    'wallet.status.suspended': '已暂停使用',
    'wallet.status.expired': '已过期',

    'field.type': '证照类型',
    'field.holder': '持证人',
    'field.holderId': '证件号码',
    'field.holderId.citizen': '公民身份号码',
    'field.holderId.uscc': '统一社会信用代码',
    'field.holderId.other': '持证人代码',
    'field.codeKind': '二维码类型',
    'field.issuer': '发证部门',
    'field.docTitle': '文件标题',
    'field.docNumber': '文号',
    'field.docSigned': '签署日期',
    'field.docId': '文件标识',
    'field.validity': '有效期',
    'field.id': '证照标识',
    'field.presentation': '动态码有效至',
    'field.relying': '用证部门',
    'field.purpose': '事由',
    'field.annotationUntil': '加注件有效至',
    'field.status': '状态信息',
    'validity.range': '{from} 至 {until}',
    'validity.forever': '{from} 起长期有效',
    'status.asOf': '截至 {date}',

    'verdict.idle': '等待扫码',
    'verdict.pending': '核验中…',
    'verdict.PASSED': '通过',
    'verdict.FAILED': '不通过',
    'verdict.INDETERMINATE': '无法确定',
    'verdict.checks': '技术详情',
    'verdict.announce': '{word}。{reason}',
    'verdict.UNREADABLE': '未能识别',
    'verdict.retry': '重试',
    'verdict.earlier': '这是 {time} 的较早一次扫描，不是最新结果',
    'unreadable.ime': '扫入的内容有全角或中文字符：输入法处于中文状态',
    'unreadable.ime.hint': '请把输入法切换到英文（半角）后重新扫描',
    'unreadable.foreign': '这不是电子证照二维码（可能是网址或其他系统的二维码）',
    'unreadable.foreign.hint': '请持证人出示电子证照上的二维码',
    'unreadable.garbled': '扫描内容有缺失或错字',
    'unreadable.garbled.hint': '请对准二维码，慢一点重新扫描',
    'unreadable.truncated': '扫描内容不完整',
    'unreadable.truncated.hint': '请慢一点重新扫描，让整个二维码都在扫描范围内',
    'unreadable.tooLong': '内容过长，不是一个电子证照二维码',
    'unreadable.tooLong.hint': '请按“清除”后只扫描一次',
    'unreadable.glued': '证照数据后有多余字符，可能是两次扫描连在了一起',
    'unreadable.glued.hint': '请按“清除”后只扫描一次',
    'hint.retry': '请按“重试”或重新扫描；不要据此受理或拒绝',
    'hint.revokedNoReason': '状态信息未载明失效原因，如需了解请向发证部门查询',
    'problem.rateLimited': '核验请求过多，请稍候重试',
    'problem.unavailable': '核验服务暂时不可用，请稍后重试',
    'problem.internal': '核验服务出错，请重试；反复出现请联系系统管理员',
    'problem.other': '核验请求未被受理（{code}），请重试；反复出现请联系系统管理员',
    'codeKind.credential': '静态码：印制的证照或其截图同样能通过，请核对出示人是否为持证人',
    'codeKind.presentation': '动态码：持证人手机实时生成，截图过期即失效',
    'codeKind.annotated': '加注件：仅对指定的用证部门和事由有效',
    'codeKindShort.credential': '静态码（可印制、可截图）',
    'codeKindShort.presentation': '动态码（实时生成）',
    'codeKindShort.annotated': '加注件',
    'status.revoked.cancelled': '已注销',
    'status.revoked.holder_request': '已注销（持证人申请）',
    'status.revoked.withdrawn': '已撤销',
    'status.revoked.issued_in_error': '已撤销（签发有误）',
    'status.revoked.penalty': '已吊销（行政处罚）',
    'status.revoked.superseded': '已换发新证，此版本作废',
    'status.revoked.other': '已失效',
    'status.revoked.unknown': '已被发证部门宣布失效',
    'status.suspended.investigation': '已暂停使用（调查中）',
    'status.suspended.holder_request': '已暂停使用（持证人申请）',
    'status.suspended.other': '已暂停使用',
    'status.suspended.unknown': '已暂停使用',
    'reason.timeout': '核验服务 {s} 秒内未答复',
    'reason.publicCopy': '这是出具给 {dept} 的加注件（事由：{purpose}），签名真实，只在该部门核验时有效',
    'hint.publicCopy': '本页不代表任何部门接受加注件；请交 {dept} 核验',
    'reason.changedAt': '{date} 起',

    'reason.PASSED': '证照有效',
    'reason.PASSED.presentation': '动态码有效，证照有效',
    'reason.PASSED.annotated': '加注件有效，事由：{purpose}',
    'reason.NON_CANONICAL': '证照数据编码不规范，可能被篡改',
    'reason.UNKNOWN_ISSUER': '发证部门不在信任列表中，无法确认来源',
    'reason.UNKNOWN_KEY': '签名密钥不在信任列表中，无法确认来源',
    'reason.SIG_CRYPTO_FAILURE': '签名验证失败，证照可能被篡改',
    'reason.KEY_COMPROMISED': '签名密钥已于 {date} 被宣布泄露，签名不可信',
    'reason.KEY_RETIRED': '签名密钥已停用，证照签名不可信',
    'reason.TYPE_NOT_AUTHORISED': '发证部门无权签发此类证照',
    'reason.NOT_YET_VALID': '证照尚未生效（{date} 起生效）',
    'reason.EXPIRED': '已过有效期（有效期至 {date}）',
    'reason.PRESENTATION_NOT_YET_VALID': '动态码时间异常，请持证人检查手机时间后刷新',
    'reason.PRESENTATION_EXPIRED': '动态码已过期，请持证人刷新',
    'reason.FUTURE_DATED': '签发时间晚于当前时间，请检查本机时钟；时钟无误则不可信',
    'reason.LIFETIME_TOO_LONG': '有效期超过发证部门可签发的上限，不可信',
    'reason.ANNOTATION_EXPIRED': '加注件已过期（有效期至 {date}）',
    'reason.WRONG_RELYING_DEPARTMENT': '此加注件不是出具给本部门的（出具给 {dept}）',
    'reason.REVOKED': '{status}（{date}）',
    'reason.SUSPENDED': '{status}（{date}）',
    'reason.HASH_FAILURE': '证照数据与登记记录不符',
    'reason.TRY_LATER': '暂时无法获取最新状态，请稍后重试',
    'reason.STATUS_UNKNOWN': '证照状态无法识别，请联系发证部门',
    'reason.unknown': '未通过核验（{code}）',
    'reason.network': '无法连接核验服务，请检查网络后重试',
    'reason.statusAsOf': '状态截至 {date}',
  },
  en: {
    'skip': 'Skip to main content',
    'brand': 'e-Licence',
    'nav': 'Pages',
    'nav.counter': 'Counter',
    'nav.wallet': 'Wallet',
    'nav.verify': 'Verify',
    'lang.other': '中文',
    'lang.otherLabel': '切换到中文',
    'lang.otherTag': 'zh-CN',

    'counter.title': 'Counter verification · e-Licence',
    'counter.heading': 'Counter verification',
    'counter.scanLabel': 'Scan or type the licence QR code',
    'counter.scanHint': 'A handheld scanner verifies at once; or paste the QR text and press Enter.',
    'counter.verify': 'Verify',
    'counter.cameraStart': 'Scan with camera',
    'counter.cameraStop': 'Stop camera',
    'counter.cameraVideo': 'Camera view',
    'counter.cameraStarting': 'Opening the camera…',
    'counter.cameraScanning': 'Hold the QR code in front of the camera',
    'counter.cameraUnreadable': 'A QR code is in view but unreadable: hold it flat, closer and in focus',
    'counter.cameraDenied': 'No permission to use the camera; allow it in the browser',
    'counter.cameraMissing': 'No camera found',
    'counter.cameraFailed': 'Cannot open the camera ({code}); check its connection and retry',
    'counter.cameraBusy': 'Another program is using the camera; close it and retry',
    'counter.cameraUnsupported': 'This browser cannot scan with a camera here (HTTPS or localhost needed)',
    'counter.clear': 'Clear',
    'counter.recent': 'Scans this session',
    'counter.recentHint': 'Kept in this page’s memory only; gone when the page closes.',
    'counter.recentEmpty': 'No scans yet',

    'verify.title': 'Verify a licence · e-Licence',
    'verify.heading': 'Verify an electronic licence',
    'verify.intro': 'Scanning a licence’s QR code with a phone camera opens this page; or paste the QR text below.',
    'verify.label': 'QR text',
    'verify.submit': 'Verify',

    'wallet.title': 'Wallet · e-Licence',
    'wallet.heading': 'My licences',
    'wallet.signinNeeded': 'Open this page with the one-time sign-in link your issuing department gave you.',
    'wallet.signingIn': 'Signing in…',
    'wallet.signinFailed': 'The sign-in link is invalid or was already used; ask the issuing department for a new one.',
    'wallet.sessionExpired': 'Your sign-in has expired; ask the issuing department for a new link.',
    'wallet.signout': 'Sign out',
    'wallet.loading': 'Loading…',
    'wallet.loadFailed': 'Cannot load your licences: {detail}',
    'wallet.none': 'This department has issued you no electronic licences.',
    'wallet.scopeHint': 'This sign-in link came from an issuing department and shows only the licences that department issued to you.',
    'wallet.chooseHint': 'Choose a licence to show its QR code.',
    'wallet.back': 'Back to my licences',
    'wallet.dynamic': 'Dynamic code',
    'wallet.dynamicHint': 'Show it to the clerk. It refreshes by itself; a screenshot will not pass.',
    'wallet.countdown': 'Refreshes in {s} s',
    'wallet.refreshing': 'Refreshing…',
    'wallet.static': 'Static code',
    'wallet.staticWarning': 'Static code, for offline use only; the counter’s verification decides',
    'wallet.offline': 'No network: a dynamic code cannot be made.',
    'wallet.retry': 'Retry',
    'wallet.annotate': 'Make an annotated copy',
    'wallet.annotateHint': 'An annotated copy is valid only for the named department, purpose and period.',
    'wallet.department': 'Relying department',
    'wallet.departmentChoose': 'Choose',
    'wallet.purpose': 'Purpose',
    'wallet.purposePlaceholder': 'e.g. opening a company bank account',
    'wallet.expiry': 'Valid until',
    'wallet.create': 'Create',
    'wallet.annotated': 'Annotated copy',
    'wallet.annotatedFor': 'For {dept}, purpose: {purpose}, valid until {until}',
    'wallet.annotateFailed': 'Cannot make the annotated copy: {detail}',
    'wallet.formIncomplete': 'Choose a department and fill in the purpose and the expiry.',
    'wallet.qrLabel': '{type} QR code',
    'wallet.status.valid': 'Valid',
    'wallet.status.revoked': 'Revoked',
    'wallet.status.suspended': 'Suspended',
    'wallet.status.expired': 'Expired',

    'field.type': 'Licence type',
    'field.holder': 'Holder',
    'field.holderId': 'ID number',
    'field.holderId.citizen': 'Citizen ID number',
    'field.holderId.uscc': 'Unified social credit code',
    'field.holderId.other': 'Holder code',
    'field.codeKind': 'Kind of code',
    'field.issuer': 'Issued by',
    'field.docTitle': 'Document title',
    'field.docNumber': 'Document number',
    'field.docSigned': 'Signed on',
    'field.docId': 'Document ID',
    'field.validity': 'Validity',
    'field.id': 'Licence ID',
    'field.presentation': 'Dynamic code valid until',
    'field.relying': 'Relying department',
    'field.purpose': 'Purpose',
    'field.annotationUntil': 'Copy valid until',
    'field.status': 'Status data',
    'validity.range': '{from} to {until}',
    'validity.forever': 'from {from}, no end date',
    'status.asOf': 'as of {date}',

    'verdict.idle': 'Waiting for a scan',
    'verdict.pending': 'Verifying…',
    'verdict.PASSED': 'Valid',
    'verdict.FAILED': 'Not valid',
    'verdict.INDETERMINATE': 'Cannot tell',
    'verdict.checks': 'Technical details',
    'verdict.announce': '{word}. {reason}',
    'verdict.UNREADABLE': 'Not readable',
    'verdict.retry': 'Retry',
    'verdict.earlier': 'An earlier scan, at {time}: not the latest result',
    'unreadable.ime': 'Full-width or Chinese characters came in: the input method is in Chinese mode',
    'unreadable.ime.hint': 'Switch the input method to English (half-width) and scan again',
    'unreadable.foreign': 'Not an electronic licence QR code (perhaps a web address or another system’s code)',
    'unreadable.foreign.hint': 'Ask the holder for the QR code of the electronic licence',
    'unreadable.garbled': 'Characters were lost or changed in the scan',
    'unreadable.garbled.hint': 'Aim at the QR code and scan again, more slowly',
    'unreadable.truncated': 'The scan is incomplete',
    'unreadable.truncated.hint': 'Scan again more slowly, with the whole QR code in the scanner’s view',
    'unreadable.tooLong': 'Too long to be one electronic licence QR code',
    'unreadable.tooLong.hint': 'Press Clear and scan once',
    'unreadable.glued': 'Extra characters after the licence data: two scans may have run together',
    'unreadable.glued.hint': 'Press Clear and scan once',
    'hint.retry': 'Press Retry or scan again; do not accept or refuse on this result',
    'hint.revokedNoReason': 'The status data does not say why; ask the issuing department',
    'problem.rateLimited': 'Too many verification requests; retry in a moment',
    'problem.unavailable': 'The verification service is unavailable for now; retry shortly',
    'problem.internal': 'The verification service failed; retry, and call the administrator if it persists',
    'problem.other': 'The verification request was not accepted ({code}); retry, and call the administrator if it persists',
    'codeKind.credential': 'Static code: a printed licence or a screenshot passes too; check that the person is the holder',
    'codeKind.presentation': 'Dynamic code: made live on the holder’s phone; a screenshot soon expires',
    'codeKind.annotated': 'Annotated copy: valid only for the named relying department and purpose',
    'codeKindShort.credential': 'Static (may be printed or a screenshot)',
    'codeKindShort.presentation': 'Dynamic (made live)',
    'codeKindShort.annotated': 'Annotated copy',
    'status.revoked.cancelled': 'Cancelled',
    'status.revoked.holder_request': 'Cancelled at the holder’s request',
    'status.revoked.withdrawn': 'Withdrawn by the issuer',
    'status.revoked.issued_in_error': 'Withdrawn: issued in error',
    'status.revoked.penalty': 'Revoked as a penalty',
    'status.revoked.superseded': 'Replaced by a new licence; this version is void',
    'status.revoked.other': 'No longer valid',
    'status.revoked.unknown': 'Ended by the issuing department',
    'status.suspended.investigation': 'Suspended during an investigation',
    'status.suspended.holder_request': 'Suspended at the holder’s request',
    'status.suspended.other': 'Suspended',
    'status.suspended.unknown': 'Suspended',
    'reason.timeout': 'No answer from the verification service within {s} s',
    'reason.publicCopy': 'An annotated copy made for {dept} (purpose: {purpose}); its signature is genuine, and it is valid only when {dept} verifies it',
    'hint.publicCopy': 'This page accepts annotated copies on behalf of no department; take it to {dept}',
    'reason.changedAt': 'since {date}',

    'reason.PASSED': 'The licence is valid',
    'reason.PASSED.presentation': 'Dynamic code and licence are valid',
    'reason.PASSED.annotated': 'Annotated copy is valid; purpose: {purpose}',
    'reason.NON_CANONICAL': 'The licence data is not canonically encoded; it may have been tampered with',
    'reason.UNKNOWN_ISSUER': 'The issuing department is not in the trust list',
    'reason.UNKNOWN_KEY': 'The signing key is not in the trust list',
    'reason.SIG_CRYPTO_FAILURE': 'The signature does not verify; the licence may have been tampered with',
    'reason.KEY_COMPROMISED': 'The signing key was declared compromised on {date}',
    'reason.KEY_RETIRED': 'Signed with a retired key',
    'reason.TYPE_NOT_AUTHORISED': 'The department may not issue this type of licence',
    'reason.NOT_YET_VALID': 'Not yet valid (valid from {date})',
    'reason.EXPIRED': 'Expired (valid until {date})',
    'reason.PRESENTATION_NOT_YET_VALID': 'The dynamic code’s time is wrong; the holder should check the phone’s clock and refresh',
    'reason.PRESENTATION_EXPIRED': 'The dynamic code has expired; ask the holder to refresh it',
    'reason.FUTURE_DATED': 'Issued later than now; check this computer’s clock, and if it is right, do not trust it',
    'reason.LIFETIME_TOO_LONG': 'Valid for longer than any issuer may give; do not trust it',
    'reason.ANNOTATION_EXPIRED': 'The annotated copy has expired (valid until {date})',
    'reason.WRONG_RELYING_DEPARTMENT': 'This annotated copy was not made for this department (made for {dept})',
    'reason.REVOKED': '{status} ({date})',
    'reason.SUSPENDED': '{status} ({date})',
    'reason.HASH_FAILURE': 'The licence data does not match the register',
    'reason.TRY_LATER': 'The latest status cannot be obtained now; try again shortly',
    'reason.STATUS_UNKNOWN': 'Unknown licence status; contact the issuing department',
    'reason.unknown': 'Verification failed ({code})',
    'reason.network': 'Cannot reach the verification service; check the network and retry',
    'reason.statusAsOf': 'status as of {date}',
  },
};

function stored() {
  try {
    return localStorage.getItem(storageKey) === 'en' ? 'en' : 'zh';
  } catch {
    return 'zh';
  }
}

let lang = stored();
const listeners = [];

/** currentLang returns 'zh' or 'en'. */
export function currentLang() {
  return lang;
}

/**
 * missing collects "lang:key" for every message asked for that the current
 * language lacks, so that the browser tests can fail on one.
 */
export const missing = new Set();

/** t returns the message key in the current language with {params} filled in. */
export function t(key, params) {
  let s = messages[lang][key];
  if (s === undefined) {
    missing.add(`${lang}:${key}`);
    s = messages.zh[key] ?? key;
  }
  if (params) {
    s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] ?? m));
  }
  return s;
}

/** has reports whether key is a known message. */
export function has(key) {
  return key in messages.zh;
}

/** apply translates every element marked data-i18n / data-i18n-attr under root. */
export function apply(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':');
      el.setAttribute(attr, t(key));
    }
  }
}

function applyPage() {
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
  apply(document);
  const btn = document.getElementById('lang-toggle');
  if (btn) {
    btn.textContent = t('lang.other');
    btn.lang = t('lang.otherTag');
    btn.setAttribute('aria-label', t('lang.otherLabel'));
  }
}

/** onChange registers fn to re-render dynamic content when the language changes. */
export function onChange(fn) {
  listeners.push(fn);
}

/** init translates the page and wires the language toggle. */
export function init() {
  applyPage();
  const btn = document.getElementById('lang-toggle');
  btn?.addEventListener('click', () => {
    lang = lang === 'zh' ? 'en' : 'zh';
    try {
      localStorage.setItem(storageKey, lang);
    } catch {
      // private mode: the choice lasts for this page only
    }
    applyPage();
    for (const fn of listeners) fn(lang);
  });
}

// Wallet messages of issue 12 (sign-in, offline, licence states, the
// annotated copy's limits and errors), kept in their own block.
Object.assign(messages.zh, {
  'wallet.signinHeading': '登录亮证',
  'wallet.staticOffline': '离线 · 静态码',
  'wallet.signinChoose': '请登录后出示证照。',
  'wallet.signinOIDC': '使用统一身份认证登录',
  'wallet.signinOIDCHint': '登录后显示各部门签发给您的全部证照。',
  'wallet.signinLinkHint': '也可使用发证部门发给您的一次性登录链接打开本页，只显示该部门签发的证照。',
  'wallet.signedOut': '已退出。本机不再保存您的证照。',
  'wallet.signinError.expired': '登录已超时或被打断，请重新登录。',
  'wallet.signinError.denied': '您在统一身份认证中取消了登录。',
  'wallet.signinError.provider_unavailable': '暂时无法连接统一身份认证，请稍后再试，或使用发证部门的登录链接。',
  'wallet.signinError.provider_refused': '统一身份认证未能确认您的身份，请重新登录。',
  'wallet.signinError.no_holder_id': '统一身份认证未提供有效的身份证件号码，无法查找您的证照。',
  'wallet.signinError.unavailable': '服务暂时不可用，请稍后再试。',
  'wallet.signinError.other': '登录失败，请重新登录。',
  'wallet.scopeHintAll': '已通过统一身份认证登录，显示各部门签发给您的证照。',
  'wallet.noneAll': '暂无签发给您的电子证照。',
  'wallet.licenceId': '证照标识',
  'wallet.loadFailedPlain': '暂时无法加载证照，请稍后重试。',
  'wallet.offlineList': '离线：显示保存在本机的证照（{at} 更新）。二维码为静态码。',
  'wallet.offlineNothing': '当前无网络，本机尚未保存证照。请联网后打开。',
  'wallet.state.valid': '有效',
  'wallet.state.expired': '已过期',
  'wallet.state.revoked': '已撤销',
  'wallet.state.revoked.penalty': '已吊销',
  'wallet.state.revoked.cancelled': '已注销',
  'wallet.state.revoked.holder_request': '已注销（本人申请）',
  'wallet.state.revoked.withdrawn': '已撤回',
  'wallet.state.revoked.issued_in_error': '已撤销（签发有误）',
  'wallet.state.revoked.superseded': '已换发新证',
  'wallet.state.suspended': '已暂停使用',
  'wallet.state.suspended.investigation': '已暂停使用（核查中）',
  'wallet.state.suspended.holder_request': '已暂停使用（本人申请）',
  'wallet.stateText.revoked': '此证照已失效，不能出示二维码，也不能生成加注件。如有疑问请联系 {issuer}。',
  'wallet.stateText.revokedAt': '此证照自 {date} 起失效，不能出示二维码，也不能生成加注件。如有疑问请联系 {issuer}。',
  'wallet.stateText.suspended': '此证照暂停使用，恢复前不能出示二维码或生成加注件。请联系 {issuer}。',
  'wallet.stateText.suspendedAt': '此证照自 {date} 起暂停使用，恢复前不能出示二维码或生成加注件。请联系 {issuer}。',
  'wallet.stateText.expired': '此证照已过有效期，不能出示二维码，也不能生成加注件。请向 {issuer} 申请换发。',
  'wallet.limit.days': '有效期最长 90 天，最早到明天。',
  'wallet.limit.dept': '只能向所选的一个用证部门出示。',
  'wallet.limit.purpose': '事由必填，最多 100 字。',
  'wallet.limit.valid': '只有有效的证照才能生成加注件。',
  'wallet.err.deptMissing': '请选择用证部门。',
  'wallet.err.purposeMissing': '请填写事由。',
  'wallet.err.expiryMissing': '请选择有效期。',
  'wallet.err.expiryPast': '有效期须晚于今天。',
  'wallet.err.expiryTooLong': '有效期最长 {max} 天，请选择更早的日期。',
  'wallet.err.expiry': '有效期须晚于现在，且最长 90 天。',
  'wallet.err.purpose': '事由须填写，且不超过 100 字。',
  'wallet.err.dept': '所选用证部门不在信任列表中，请重新选择。',
  'wallet.err.gone': '找不到这张证照，请返回列表刷新。',
  'wallet.err.notUsable': '这张证照当前不能使用（已撤销、暂停、过期或需换发）。',
  'wallet.err.rateLimited': '操作过于频繁，请稍后再试。',
  'wallet.err.presentRefused': '暂时无法生成动态码：这张证照当前不能出示。请返回列表刷新。',
  'wallet.err.generic': '请求未能完成，请稍后重试。',
});
Object.assign(messages.en, {
  'wallet.signinHeading': 'Sign in to the wallet',
  'wallet.staticOffline': 'Offline · static code',
  'wallet.signinChoose': 'Sign in to show your licences.',
  'wallet.signinOIDC': 'Sign in with the government ID service',
  'wallet.signinOIDCHint': 'Shows the licences every department issued to you.',
  'wallet.signinLinkHint': 'You can also open this page with a one-time link from an issuing department; it shows only that department’s licences.',
  'wallet.signedOut': 'Signed out. This phone no longer keeps your licences.',
  'wallet.signinError.expired': 'The sign-in timed out or was interrupted; sign in again.',
  'wallet.signinError.denied': 'You cancelled the sign-in at the ID service.',
  'wallet.signinError.provider_unavailable': 'The ID service cannot be reached; try again later or use a department’s sign-in link.',
  'wallet.signinError.provider_refused': 'The ID service could not confirm who you are; sign in again.',
  'wallet.signinError.no_holder_id': 'The ID service gave no valid ID number, so your licences cannot be found.',
  'wallet.signinError.unavailable': 'The service is unavailable; try again later.',
  'wallet.signinError.other': 'Sign-in failed; sign in again.',
  'wallet.scopeHintAll': 'Signed in through the ID service: the licences every department issued to you.',
  'wallet.noneAll': 'No electronic licences have been issued to you.',
  'wallet.licenceId': 'Licence ID',
  'wallet.loadFailedPlain': 'Your licences cannot be loaded now; try again shortly.',
  'wallet.offlineList': 'Offline: the licences kept on this phone (updated {at}). QR codes are static.',
  'wallet.offlineNothing': 'No network, and no licences are kept on this phone yet. Open it online first.',
  'wallet.state.valid': 'Valid',
  'wallet.state.expired': 'Expired',
  'wallet.state.revoked': 'Revoked',
  'wallet.state.revoked.penalty': 'Revoked as a penalty',
  'wallet.state.revoked.cancelled': 'Cancelled',
  'wallet.state.revoked.holder_request': 'Cancelled at your request',
  'wallet.state.revoked.withdrawn': 'Withdrawn',
  'wallet.state.revoked.issued_in_error': 'Revoked (issued in error)',
  'wallet.state.revoked.superseded': 'Replaced by a new licence',
  'wallet.state.suspended': 'Suspended',
  'wallet.state.suspended.investigation': 'Suspended (under review)',
  'wallet.state.suspended.holder_request': 'Suspended at your request',
  'wallet.stateText.revoked': 'This licence is no longer valid: it cannot be shown or annotated. Contact {issuer} with questions.',
  'wallet.stateText.revokedAt': 'This licence has not been valid since {date}: it cannot be shown or annotated. Contact {issuer} with questions.',
  'wallet.stateText.suspended': 'This licence is suspended: until it is reinstated it cannot be shown or annotated. Contact {issuer}.',
  'wallet.stateText.suspendedAt': 'This licence has been suspended since {date}: until it is reinstated it cannot be shown or annotated. Contact {issuer}.',
  'wallet.stateText.expired': 'This licence has expired: it cannot be shown or annotated. Ask {issuer} for a new one.',
  'wallet.limit.days': 'Valid for at most 90 days, until tomorrow at the earliest.',
  'wallet.limit.dept': 'Only the one relying department you choose can accept it.',
  'wallet.limit.purpose': 'A purpose is required, at most 100 characters.',
  'wallet.limit.valid': 'Only a valid licence can be annotated.',
  'wallet.err.deptMissing': 'Choose a relying department.',
  'wallet.err.purposeMissing': 'Fill in the purpose.',
  'wallet.err.expiryMissing': 'Choose an expiry date.',
  'wallet.err.expiryPast': 'The expiry must be after today.',
  'wallet.err.expiryTooLong': 'At most {max} days: choose an earlier date.',
  'wallet.err.expiry': 'The expiry must be in the future and at most 90 days ahead.',
  'wallet.err.purpose': 'The purpose is required, at most 100 characters.',
  'wallet.err.dept': 'That relying department is not in the trust list; choose again.',
  'wallet.err.gone': 'This licence cannot be found; go back to the list to refresh it.',
  'wallet.err.notUsable': 'This licence cannot be used now (revoked, suspended, expired or to be re-issued).',
  'wallet.err.rateLimited': 'Too many requests; try again shortly.',
  'wallet.err.presentRefused': 'No dynamic code: this licence cannot be shown now. Go back to the list to refresh it.',
  'wallet.err.generic': 'The request could not be completed; try again shortly.',
});
