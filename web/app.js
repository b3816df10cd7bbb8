// wim-server's page: send a document and a question to POST /v1/wim, then follow
// the reading from its event stream (docs/server.md, docs/events.md).
//
// The stream answers a POST, which EventSource cannot send, so it is read with
// fetch() and a stream reader, and the "data: {json}" lines are parsed here.
//
// Segment indices are 0-based in the API and in the data-segment attributes;
// the text a person reads numbers them from 1.
'use strict';

const $ = (id) => document.getElementById(id);
const el = {
  document: $('document'), docview: $('docview'), docInfo: $('doc-info'),
  file: $('file'), edit: $('edit'), form: $('ask'), query: $('query'),
  mode: $('mode'), segtokens: $('segtokens'), quoted: $('quoted'), quotedAnswers: $('quoted-answers'), apikey: $('apikey'),
  keyBox: $('key-box'),
  start: $('start'), stop: $('stop'), status: $('status'), progress: $('progress'),
  answer: $('answer'), used: $('used'), margins: $('margins'),
  marginCount: $('margin-count'), model: $('model'),
};

// The reading in progress (or the last one): what the event stream told us.
let run = null;

const KEY_STORE = 'wim.apiKey';
el.apikey.value = localStorage.getItem(KEY_STORE) || '';
el.apikey.addEventListener('change', () => {
  localStorage.setItem(KEY_STORE, el.apikey.value.trim());
  showModel();
});

function headers(json) {
  const h = {};
  if (json) h['Content-Type'] = 'application/json';
  const key = el.apikey.value.trim();
  if (key) h['Authorization'] = 'Bearer ' + key;
  return h;
}

// An HTTP error as one line: the server's {"error": {"code", "message"}} if it
// sent one, else the status line.
async function httpError(resp) {
  let msg = resp.statusText || 'error';
  try {
    const body = await resp.json();
    if (body && body.error && body.error.message) msg = body.error.message;
  } catch (_) { /* not JSON: keep the status text */ }
  if (resp.status === 401) {
    el.keyBox.open = true;
    msg += ' (type the server\'s API key under "API key")';
  }
  return `HTTP ${resp.status}: ${msg}`;
}

function setStatus(state, text) {
  el.status.dataset.state = state;  // idle, queued, reading, answering, done, error
  el.status.textContent = text;
}

function setProgress(fraction) {
  const f = Math.max(0, Math.min(1, fraction || 0));
  el.progress.value = f;
  el.progress.dataset.fraction = f.toFixed(4);
}

function fmtSeconds(s) {
  if (!isFinite(s)) return '?';
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - 60 * m)} s`;
}

// ---- the document and its segments --------------------------------------

function showEditor() {
  el.docview.hidden = true;
  el.document.hidden = false;
  el.edit.hidden = true;
  docInfoChars();
}

function showDocView() {
  el.document.hidden = true;
  el.docview.hidden = false;
  el.edit.hidden = !!(run && !run.finished);
  // a PDF's or HTML page's text is the server's: the view names the file instead
  const shown = run.doc || run.fileNote || '';
  if (el.docview.textContent !== shown) el.docview.textContent = shown;
}

function docInfoChars() {
  const n = el.document.value.length;
  el.docInfo.textContent = docFile && !n
    ? `${docFile.name}: ${docFile.kind}, its text is read by the server`
    : (n ? `${n.toLocaleString()} characters` : '');
}
el.document.addEventListener('input', docInfoChars);

el.edit.addEventListener('click', showEditor);

// A file picked: text goes into the editor as today; a PDF or HTML file (told
// by its first bytes, as the server tells them) is sent whole, as
// document_base64, and the server extracts its text.
let docFile = null;  // {name, kind, base64} of a picked PDF or HTML file

function fileKind(bytes) {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 1024));
  if (head.includes('%PDF-')) return 'PDF';
  const start = head.replace(/^\uFEFF?(\s|<!--[\s\S]*?-->|<\?[\s\S]*?\?>)*/, '');
  return /^<(!doctype|html|head|body|p|div|h1|title|meta)[\s/>]/i.test(start) ? 'HTML' : null;
}

function toBase64(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

el.file.addEventListener('change', async () => {
  const f = el.file.files[0];
  if (!f) return;
  let bytes;
  try {
    bytes = new Uint8Array(await f.arrayBuffer());
  } catch (err) {
    setStatus('error', `Cannot read ${f.name}: ${err.message}`);
    return;
  }
  const kind = fileKind(bytes);
  docFile = kind ? { name: f.name, kind, base64: toBase64(bytes) } : null;
  el.document.value = kind ? '' : new TextDecoder().decode(bytes);
  showEditor();
});

el.document.addEventListener('input', () => { docFile = null; });

// Token range [start, end) of segment k, from the segment and progress events;
// where none was seen (rag skips unkept segments), the previous segment's end
// or an even share of the document.
function segmentTokens(k) {
  const even = (i) => Math.round(i * run.docTokens / Math.max(1, run.segments));
  let t0 = run.segStart[k];
  if (t0 === undefined) t0 = k === 0 ? 0 : (run.segEnd[k - 1] ?? even(k));
  let t1 = run.segEnd[k];
  if (t1 === undefined) t1 = run.segStart[k + 1] ?? even(k + 1);
  return [t0, Math.max(t0, t1)];
}

// The page has no tokenizer, so a token range becomes a character range by
// proportion: segment k covers about [t0/doc_tokens, t1/doc_tokens] of the text.
// This is APPROXIMATE (tokens are not all the same length); the ends are moved
// to the next whitespace so that the highlight does not cut words in half.
function segmentChars(k) {
  const [t0, t1] = segmentTokens(k);
  const len = run.doc.length, total = Math.max(1, run.docTokens);
  const snap = (c) => {
    if (c <= 0 || c >= len) return Math.max(0, Math.min(len, c));
    const m = /\s/.exec(run.doc.slice(c, c + 40));
    return m ? c + m.index : c;
  };
  return [snap(Math.round(t0 / total * len)), snap(Math.round(t1 / total * len))];
}

function showSegment(k) {
  if (!run || !run.docTokens || !run.doc) return;
  showDocView();
  const [c0, c1] = segmentChars(k);
  const mark = document.createElement('mark');
  mark.textContent = run.doc.slice(c0, c1);
  mark.title = `Segment ${k + 1} (approximate)`;
  el.docview.replaceChildren(run.doc.slice(0, c0), mark, run.doc.slice(c1));
  mark.scrollIntoView({ block: 'center', behavior: 'smooth' });
  for (const li of el.margins.children) li.classList.toggle('shown', li.dataset.segment === String(k));
}

// "p. 3" or "pp. 3–4": the pages segment k covers, when the document has pages.
function pagesOf(k) {
  const p = run.pages[k];
  if (!p) return '';
  return p[0] === p[1] ? `p. ${p[0]}` : `pp. ${p[0]}–${p[1]}`;
}

function segmentLink(k) {
  const a = document.createElement('a');
  a.href = '#docview';
  a.textContent = `Segment ${k + 1}` + (pagesOf(k) ? ` (${pagesOf(k)})` : '');
  a.title = 'Show this segment in the document (approximate place)';
  a.addEventListener('click', (e) => { e.preventDefault(); showSegment(k); });
  return a;
}

// ---- margins --------------------------------------------------------------

// The list item of segment k's margin (made on first need: in rag mode a
// verdict on a raw segment comes without a margin).
function marginItem(k) {
  let li = el.margins.querySelector(`li[data-segment="${k}"]`);
  if (li) return li;
  li = document.createElement('li');
  li.className = 'margin pending';
  li.dataset.segment = k;

  const head = document.createElement('div');
  head.className = 'margin-head';
  const verdict = document.createElement('span');
  verdict.className = 'verdict';
  verdict.textContent = 'awaiting verdict';
  head.append(segmentLink(k), verdict);

  const text = document.createElement('div');
  text.className = 'margin-text';
  const reason = document.createElement('div');
  reason.className = 'reason';
  li.append(head, text, reason);

  // The person's word on the margin (wim only): Keep or Drop; pressing the
  // pressed one again leaves it to the verdict (keep: null).
  if (run.mode === 'wim') {
    const word = document.createElement('div');
    word.className = 'word';
    for (const [label, keep] of [['Keep', true], ['Drop', false]]) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = label;
      b.className = label.toLowerCase();
      b.setAttribute('aria-pressed', 'false');
      b.title = keep ? 'Use this margin for the answer, whatever its verdict'
                     : 'Leave this margin out of the answer, whatever its verdict';
      b.addEventListener('click', () => {
        overrule(li, b.getAttribute('aria-pressed') === 'true' ? null : keep);
      });
      word.append(b);
    }
    const note = document.createElement('span');
    note.className = 'word-note';
    word.append(note);
    li.append(word);
  }

  // Keep the list in segment order whatever order items are made in.
  const after = [...el.margins.children].find((o) => +o.dataset.segment > k);
  el.margins.insertBefore(li, after || null);
  return li;
}

function countMargins() {
  const n = el.margins.children.length;
  const rel = el.margins.querySelectorAll('.relevant').length;
  el.marginCount.textContent = n ? `${n} of ${run.segments} · ${rel} relevant` : '';
}

function onMargin(ev) {
  if (ev.pages) run.pages[ev.segment] = ev.pages;
  const li = marginItem(ev.segment);
  li.querySelector('.margin-head a').textContent =
    `Segment ${ev.segment + 1}` + (ev.pages ? ` (${pagesOf(ev.segment)})` : '');
  const text = (ev.text || '').trim();
  li.querySelector('.margin-text').textContent = text || '(empty margin)';
  li.classList.toggle('empty', !text);
  countMargins();
}

function onVerdict(ev) {
  const li = marginItem(ev.segment);
  li.classList.remove('pending');
  li.classList.add(ev.relevant ? 'relevant' : 'irrelevant');
  li.querySelector('.verdict').textContent = ev.relevant ? 'relevant' : 'not relevant';
  const why = (ev.reason || '').trim();
  li.querySelector('.reason').textContent =
    why ? why : (ev.parsed === false ? '(the classifier gave no YES/NO answer)' : '');
  if (run.mode === 'rag' && !li.querySelector('.margin-text').textContent)
    li.querySelector('.margin-text').textContent = '(raw segment, no margin in rag mode)';
  countMargins();
}

async function overrule(li, keep) {
  const k = +li.dataset.segment;
  const note = li.querySelector('.word-note');
  li.dataset.overrule = 'pending';
  note.textContent = 'sending…';
  let text, state;
  try {
    const resp = await fetch(`/v1/wim/${encodeURIComponent(run.id)}/margins/${k}`, {
      method: 'POST', headers: headers(true), body: JSON.stringify({ keep }),
    });
    if (resp.ok) {
      state = 'ok';
      text = keep === null ? 'left to the verdict' : keep ? 'kept by you' : 'dropped by you';
      li.classList.toggle('overruled', keep !== null);
      li.classList.toggle('kept', keep === true);
      li.classList.toggle('dropped', keep === false);
      li.querySelector('button.keep').setAttribute('aria-pressed', String(keep === true));
      li.querySelector('button.drop').setAttribute('aria-pressed', String(keep === false));
    } else if (resp.status === 409) {
      state = 'late'; text = 'too late: the answer is being written';
    } else if (resp.status === 404) {
      state = 'gone'; text = 'too late: the request is over';
    } else {
      state = 'error'; text = await httpError(resp);
    }
  } catch (e) {
    state = 'error'; text = `cannot reach the server (${e.message})`;
  }
  li.dataset.overrule = state;
  note.textContent = text;
  note.classList.toggle('bad', state !== 'ok');
}

// ---- the event stream -----------------------------------------------------

function updateProgress(ev) {
  if (!run.docTokens) run.docTokens = ev.doc_tokens;
  if (ev.segment !== undefined) {
    run.segEnd[ev.segment] = Math.max(run.segEnd[ev.segment] || 0, ev.read_tokens);
  }
  setProgress(ev.read_tokens / ev.doc_tokens);
  // Speed over the reading so far (margins and verdicts included), from the
  // engine's clock rather than the browser's, so network delays do not count.
  const secs = (ev.elapsed_ms - run.startMs) / 1000;
  const rate = secs > 0 ? ev.read_tokens / secs : NaN;
  const eta = (ev.doc_tokens - ev.read_tokens) / rate;
  const seg = ev.segment !== undefined ? `segment ${ev.segment + 1} of ${run.segments}` : 'reading';
  let line = `Reading ${seg}: ${ev.read_tokens.toLocaleString()} of ${ev.doc_tokens.toLocaleString()} tokens`;
  if (secs >= 0.5 && isFinite(rate)) line += ` · ${Math.round(rate)} tokens/s · about ${fmtSeconds(eta)} left`;
  if (run.stopping) line += ' · stopping…';
  setStatus('reading', line);
}

const handlers = {
  request(ev) {
    run.id = ev.id;
    el.stop.disabled = false;
    if (ev.position > 0) setStatus('queued', `Waiting: ${ev.position} ahead.`);
    else setStatus('reading', 'Starting…');
  },
  start(ev) {
    Object.assign(run, {
      mode: ev.mode, segments: ev.segments, docTokens: ev.doc_tokens, startMs: ev.elapsed_ms,
    });
    el.docInfo.textContent = `${ev.doc_tokens.toLocaleString()} tokens in ${ev.segments} ` +
      `segment${ev.segments === 1 ? '' : 's'} of up to ${ev.segment_tokens} · mode ${ev.mode}`;
    setStatus('reading', `Reading ${ev.segments} segments…`);
    if (ev.mode === 'llm') el.margins.innerHTML = '<li class="muted">No margins in llm mode.</li>';
  },
  progress: updateProgress,
  segment(ev) {
    run.segStart[ev.segment] = ev.read_tokens - ev.tokens;
    if (ev.pages) run.pages[ev.segment] = ev.pages;
    updateProgress(ev);
  },
  margin: onMargin,
  verdict: onVerdict,
  window(ev) {
    // Past the context: memory holds the window, not the document.
    if (!run.window) el.docInfo.append(` · read in a window of ${ev.window.toLocaleString()} tokens`);
    run.window = ev.window;
  },
  let_go(ev) {
    const li = marginItem(ev.segment);
    li.classList.add('let-go');
    li.title = 'Let go: the carried notes were over their budget, and this was the weakest.';
  },
  token(ev) {
    if (!run.answering) {
      run.answering = true;
      el.stop.disabled = true;  // the reading is over: nothing left to stop
      setStatus('answering', 'Writing the answer…');
    }
    el.answer.append(ev.text);
  },
  answer(ev) {
    run.answering = true;
    // Outer blank lines say nothing; an all-blank answer shows a placeholder.
    el.answer.textContent = ev.text.trim();
    el.answer.classList.toggle('blank', !ev.text.trim());
    if (run.mode !== 'wim') return;
    const used = ev.used || [];
    for (const k of used) marginItem(k).classList.add('used');
    if (used.length) {
      el.used.replaceChildren('Written from the margins of: ');
      used.forEach((k, i) => el.used.append(i ? ', ' : '', segmentLink(k)));
      el.used.append('.');
    } else {
      el.used.textContent = 'No margin fed this answer.';
    }
  },
  done(ev) {
    run.finished = true;
    if (!run.answering) handlers.answer({ text: ev.answer || '', used: [] });
    if (!ev.stopped_early) setProgress(1);
    const what = ev.stopped_early
      ? `Stopped after ${ev.segments_read} of ${ev.segments} segments`
      : `Done: ${ev.segments} segments read`;
    const margins = run.mode === 'wim' ? ` · ${ev.margins} margins, ${ev.relevant} relevant` :
      run.mode === 'rag' ? ` · ${ev.relevant} segments kept` : '';
    const past = ev.window ? ` · ${ev.segments_let_go} segments let go to read on in ` +
      `${ev.window.toLocaleString()} tokens` : '';
    setStatus('done', `${what}${margins}${past} · ${fmtSeconds(ev.total_ms / 1000)}.`);
  },
  error(ev) {
    run.finished = true;
    setStatus('error', `Error: ${ev.message || 'the run failed'}`);
  },
};

function onEvent(ev) {
  // The server takes one question, so everything belongs to question 0.
  if (ev.question !== undefined && ev.question !== 0) return;
  const h = handlers[ev.event];
  if (h) h(ev);
}

// Read "data: {json}" events (blank-line separated) from the response body.
async function readEvents(resp) {
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  const sep = /\r?\n\r?\n/;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let m;
    while ((m = sep.exec(buf))) {
      const block = buf.slice(0, m.index);
      buf = buf.slice(m.index + m[0].length);
      // Per SSE, an event's data is its data: lines joined by newlines; other
      // lines (comments, event:, id:) are ignored.
      const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, '')).join('\n');
      if (!data) continue;
      let ev;
      try { ev = JSON.parse(data); } catch (_) {
        throw new Error(`the server sent an event that is not JSON: ${data.slice(0, 80)}`);
      }
      onEvent(ev);
    }
  }
}

function resetRun(doc, mode) {
  run = {
    id: null, doc, mode, segments: 0, docTokens: 0, startMs: 0,
    segStart: [], segEnd: [], pages: [], answering: false, finished: false, stopping: false,
  };
  el.margins.replaceChildren();
  el.marginCount.textContent = '';
  el.answer.textContent = '';
  el.answer.classList.remove('blank');
  el.used.textContent = '';
  setProgress(0);
}

el.form.addEventListener('submit', async (e) => {
  e.preventDefault();
  if (run && !run.finished) return;
  const doc = docFile ? '' : el.document.value;
  const query = el.query.value.trim();
  if (!docFile && !doc.trim()) { setStatus('error', 'Paste a document or open a file first.'); return; }
  if (!query) { setStatus('error', 'Type a question first.'); return; }

  const body = docFile ? { document_base64: docFile.base64, query, mode: el.mode.value }
                       : { document: doc, query, mode: el.mode.value };
  const options = {};
  const seg = parseInt(el.segtokens.value, 10);
  if (seg > 0) options.segment_tokens = seg;
  if (el.quoted.checked) options.quoted_margins = true;
  if (el.quotedAnswers.checked) options.quoted_answers = true;
  if (Object.keys(options).length) body.options = options;

  resetRun(doc, el.mode.value);
  if (docFile) run.fileNote = `${docFile.name} (${docFile.kind}): its text is read by the server.`;
  showDocView();
  el.start.disabled = true;
  setStatus('queued', 'Sending the document…');
  try {
    const resp = await fetch('/v1/wim', { method: 'POST', headers: headers(true), body: JSON.stringify(body) });
    if (!resp.ok) {
      run.finished = true;
      setStatus('error', await httpError(resp));
    } else {
      await readEvents(resp);
      if (!run.finished) {
        run.finished = true;
        setStatus('error', 'Error: the stream ended before the run was done.');
      }
    }
  } catch (err) {
    run.finished = true;
    setStatus('error', `Error: ${err.message.startsWith('the server') ? err.message
      : 'lost the connection to the server (' + err.message + ')'}`);
  } finally {
    el.start.disabled = false;
    el.stop.disabled = true;
    el.edit.hidden = false;
  }
});

el.stop.addEventListener('click', async () => {
  if (!run || !run.id || run.finished) return;
  el.stop.disabled = true;
  run.stopping = true;
  try {
    const resp = await fetch(`/v1/wim/${encodeURIComponent(run.id)}/stop`, { method: 'POST', headers: headers(false) });
    if (resp.status === 404) return;  // it ended meanwhile: the stream says how
    if (!resp.ok) { setStatus('error', await httpError(resp)); return; }
    if (!run.answering && !run.finished) setStatus(el.status.dataset.state, 'Stopping: the answer will be written from the margins so far…');
  } catch (err) {
    setStatus('error', `Cannot reach the server to stop (${err.message}).`);
  }
});

// The model's name in the header: nice to have, so failures stay quiet.
async function showModel() {
  try {
    const resp = await fetch('/v1/models', { headers: headers(false) });
    if (resp.status === 401) { el.model.textContent = 'model: (API key needed)'; return; }
    const m = (await resp.json()).data[0];
    el.model.textContent = `model: ${m.id} (${m.architecture})`;
  } catch (_) { el.model.textContent = ''; }
}

docInfoChars();
showModel();
