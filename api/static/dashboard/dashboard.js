// The marketer dashboard: sign in with the admin token, read the analytics report, edit the rules.
// No inline scripts (the page's CSP forbids them) and no HTML built from data: textContent only.
// Other tabs live in their own modules (admin-chats.js...): they import api, state and saveFile from here,
// and hear 'dashboard:site' on document when the site is chosen (at sign-in and on every change).

import {bars, el, fmt, histogram, interval, lines, pct, table} from './charts.js';
import {Editor} from './editor.js';

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'tactful.admin';
// Exported for the other tabs' modules (admin-chats.js, admin-team.js): the signed-in site and the API helper.
export const state = {site: null, report: null, config: null, schema: null, checked: null};

const STAGES = [
  ['visitors', 'Visitors'], ['engaged', 'Engaged'], ['eligible', 'Eligible'], ['invited', 'Invited'],
  ['shown', 'Saw the invitation'], ['accepted', 'Accepted'], ['dismissed', 'Dismissed'], ['ignored', 'Ignored'],
  ['chats_started', 'Chats started'], ['chats_resolved', 'Chats resolved'], ['conversions', 'Converted'],
];
const REASONS = {
  holdout: 'In the holdout group', below_threshold: 'Score below the threshold', not_sustained: 'Struggle too brief',
  too_early: 'Too early in the visit', too_few_pages: 'Too few pages', excluded_path: 'Page not targeted',
  not_targeted: 'Not in the audience', no_capacity: 'No agent free', outranked: 'Others needed help more',
  outside_hours: 'Outside opening hours', cap_reached: 'Already invited this visit',
  daily_cap_reached: 'Daily limit reached', cooldown_after_dismiss: 'Said no recently',
  recently_invited: 'Invited a moment ago', do_not_track: 'Do Not Track', opted_out: 'Opted out',
  in_chat: 'Already chatting', not_in_rollout: 'Outside the rollout', none: 'No decision yet',
};

export class Unauthorized extends Error {}

export async function api(path, options) {
  const request = Object.assign({headers: {}}, options || {});
  request.headers = Object.assign({authorization: 'Bearer ' + sessionStorage.getItem(TOKEN_KEY)}, request.headers);
  if (request.json !== undefined) {
    request.body = JSON.stringify(request.json);
    request.headers['content-type'] = 'application/json';
  }
  const response = await fetch(path, request);
  if (response.status === 401) throw new Unauthorized('The admin token was not accepted.');
  const body = await response.json().catch(() => ({}));
  return {ok: response.ok, status: response.status, body};
}

function windowParams(hours) {
  const end = Date.now();
  return new URLSearchParams({start: String(end - hours * 3600000), end: String(end)});
}

// -- sign in -------------------------------------------------------------------------------

async function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    const sites = await api('/v1/admin/sites');
    const select = $('site');
    select.replaceChildren(...sites.body.sites.map((site) => el('option', {value: site}, site)));
    state.site = sites.body.sites[0] || null;
    $('sign-in').hidden = true;
    $('app').hidden = false;
    $('controls').hidden = false;
    announceSite();
    await Promise.all([loadReport(), loadRules()]);
  } catch (error) {
    sessionStorage.removeItem(TOKEN_KEY);
    $('sign-in-error').textContent = error instanceof Unauthorized ? error.message : 'Could not reach the server.';
  }
}

function announceSite() {
  document.dispatchEvent(new CustomEvent('dashboard:site', {detail: {site: state.site}}));
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  location.reload();
}

// -- results -------------------------------------------------------------------------------

async function loadReport() {
  if (!state.site) return;
  $('report-status').textContent = 'Loading…';
  const params = windowParams(Number($('period').value));
  const {ok, body} = await api(`/v1/admin/sites/${encodeURIComponent(state.site)}/analytics?${params}`);
  if (!ok) { $('report-status').textContent = body.message || 'Could not load the report.'; return; }
  state.report = body;
  $('report-status').textContent = `${fmt(body.funnel.visitors, 0)} visitors in the period · config version ${body.config.version}`;
  renderFunnel(body.funnel);
  renderUplift(body.uplift);
  renderReasons(body.reasons);
  $('threshold').value = String(body.config.score_threshold);
  renderThreshold();
  renderLoad(body.agent_load);
  renderModel(body.model);
  const rates = [{key: 'key', title: 'Message'}, {key: 'invited', title: 'Invited', numeric: true},
    {key: 'shown', title: 'Shown', numeric: true}, {key: 'acceptance_rate', title: 'Accepted', format: pct, numeric: true},
    {key: 'dismissal_rate', title: 'Dismissed', format: pct, numeric: true}];
  table($('variants'), body.outcomes.by_variant, rates, 'Outcomes by message');
  table($('pages'), body.outcomes.by_page, [Object.assign({}, rates[0], {title: 'Page'}), ...rates.slice(1)],
    'Outcomes by page');
  table($('hotspots'), body.hotspots, [
    {key: 'page', title: 'Page'}, {key: 'visitors', title: 'Visitors', numeric: true},
    {key: 'rage_clicks', title: 'Rage clicks', numeric: true}, {key: 'dead_clicks', title: 'Dead clicks', numeric: true},
    {key: 'form_errors', title: 'Form errors', numeric: true}, {key: 'u_turns', title: 'U-turns', numeric: true},
    {key: 'per_visitor', title: 'Per visitor', numeric: true}], 'Struggle hot spots');
  renderExports(params);
}

function renderFunnel(funnel) {
  const rows = STAGES.map(([key, label]) => ({label, value: funnel[key] || 0,
    kind: ['dismissed', 'ignored'].includes(key) ? 'bad' : ''}));
  bars($('funnel'), rows, 'Funnel');
  $('funnel').append(el('p', {class: 'totals'}, `Revenue from converted visitors: ${fmt(funnel.revenue, 2)}` +
    (funnel.csat === null ? '' : ` · chat satisfaction ${fmt(funnel.csat, 1)} / 5`)));
}

function renderUplift(uplift) {
  const box = $('uplift');
  box.replaceChildren();
  const arms = el('dl', {class: 'arms'});
  for (const [name, arm] of [['Invited', uplift.invited], ['Holdout', uplift.holdout]]) {
    arms.append(el('dt', {}, name), el('dd', {}, `${pct(arm.rate)} converted (${arm.converted} of ${arm.visitors} visitors)`));
  }
  box.append(arms);
  if (uplift.difference === null) {
    box.append(el('p', {class: 'empty'}, 'Not enough eligible visitors in both groups yet.'));
    return;
  }
  const [low, high] = uplift.ci95;
  const verdict = low > 0 ? 'Inviting raises conversion.' : high < 0 ? 'Inviting lowers conversion.' :
    'Not yet distinguishable from no effect.';
  box.append(el('p', {class: 'big'}, `${uplift.difference >= 0 ? '+' : ''}${(uplift.difference * 100).toFixed(1)} points`));
  box.append(el('p', {}, `95% confidence: ${(low * 100).toFixed(1)} to ${(high * 100).toFixed(1)} points. ${verdict}`));
  interval(box, uplift.difference, uplift.ci95, 'Uplift with its 95% confidence interval');
}

function renderReasons(reasons) {
  const rows = Object.entries(reasons.sessions_not_invited_by_reason)
    .map(([code, value]) => ({label: REASONS[code] || code, value}));
  bars($('reasons'), rows, 'Sessions not invited, by reason');
}

function renderThreshold() {
  const report = state.report;
  if (!report) return;
  const threshold = Number($('threshold').value);
  $('threshold-value').textContent = threshold.toFixed(2);
  histogram($('histogram'), report.scores.histogram, threshold, 'Score histogram of candidate sessions');
  const row = report.scores.projection[Math.round(threshold * 100)];
  const slots = report.scores.capacity_slots;
  const carry = row.agents_can_carry === null ? '' : row.agents_can_carry
    ? `Agents can carry it (${fmt(row.concurrent_chats, 1)} chats at once of ${fmt(slots, 0)} slots).`
    : `More than agents can carry: ${fmt(row.concurrent_chats, 1)} chats at once, only ${fmt(slots, 0)} slots.`;
  const box = $('projection');
  box.replaceChildren(
    el('strong', {}, `≈ ${fmt(row.invitations_per_hour, 1)} invitations per hour`), ' · ',
    el('strong', {}, `≈ ${fmt(row.accepted_per_hour, 1)} accepted chats per hour`), ' · ',
    el('span', {class: row.agents_can_carry === false ? 'bad' : 'good'}, carry));
}

function renderLoad(load) {
  const series = load.series;
  lines($('load'), [
    {name: 'Chat slots', kind: 'capacity', points: series.map((s) => [s.at_ms, s.slots])},
    {name: 'Chats in progress', kind: 'active', points: series.map((s) => [s.at_ms, s.active])},
  ], 'Agent load against capacity');
}

// -- the model and what it learned ---------------------------------------------------------

// Context features are `name=value` (tracker/context.py); each becomes the subject of a sentence.
const DEVICES = {mobile: 'Visitors on mobile phones', tablet: 'Visitors on tablets',
  desktop: 'Visitors on desktop computers'};
const SOURCES = {direct: 'Visitors who came straight to the site', search: 'Visitors from a search engine',
  social: 'Visitors from social media', campaign: 'Visitors from a campaign link',
  referral: 'Visitors from another website'};
const HOURS = {night: 'Visitors at night (midnight to 6 am)', morning: 'Visitors in the morning (6 am to noon)',
  afternoon: 'Visitors in the afternoon (noon to 6 pm)', evening: 'Visitors in the evening (6 pm to midnight)'};
const CONTEXTS = {
  page: (v) => v === '/' ? 'Visitors on the home page' : v.startsWith('/') ? `Visitors on ${v}` :
    v === 'unknown' ? 'Visitors on an unknown page' : `Visitors on the ${v} pages`,
  form: (v) => `Visitors with an error in the ${v} form`,
  device: (v) => DEVICES[v] || 'Visitors on an unrecognised device',
  visitor: (v) => v === 'returning' ? 'Returning visitors' : 'New visitors',
  source: (v) => SOURCES[v] || `Visitors from ${v}`,
  hour: (v) => HOURS[v] || `Visitors at ${v}`,
};
const CURVE = [['prior', 'Built-in prior'], ['model', 'Site model'], ['blend', 'Scores in use (blend)']];

// A shift of the logit, in words: 0.15 is about 1.16 times the odds, 0.6 about 1.8, 1.5 about 4.5.
function strength(weight) {
  const size = Math.abs(weight);
  return size >= 1.5 ? 'far' : size >= 0.6 ? 'noticeably' : size >= 0.15 ? 'slightly' : null;
}

function contextSubject(feature) {
  const cut = feature.indexOf('=');
  const describe = CONTEXTS[feature.slice(0, cut)];
  return describe && cut > 0 ? describe(feature.slice(cut + 1)) : `Visitors with “${feature}”`;
}

function sayAndLoss(quality) {
  const n = quality.n_learned, share = quality.model_weight || 0;
  const losses = quality.progressive_log_loss || {};
  const labels = `${fmt(n, 0)} label${n === 1 ? '' : 's'}`;
  const say = share > 0 ? `The model has ${Math.round(share * 100)}% of the say after ${labels}; on this site's` +
    ' recent labels it' : `The built-in prior still has all the say after ${labels}; on this site's recent labels` +
    ' the model';
  if (typeof losses.model !== 'number' || typeof losses.prior !== 'number') {
    return `${say} cannot be compared with the prior yet.`;
  }
  const gap = losses.model - losses.prior;
  const verdict = Math.abs(gap) < 0.005 ? 'predicts about as well as' : gap < 0 ? 'predicts better than' :
    'does not yet predict better than';
  return `${say} ${verdict} the built-in prior: log loss ${losses.model.toFixed(2)} against ${losses.prior.toFixed(2)}.`;
}

function renderCurve(container, history) {
  const series = CURVE.map(([key, name]) => ({name, kind: key, points: history
    .filter((point) => typeof point[`${key}_log_loss`] === 'number')
    .map((point) => [point.n_learned, point[`${key}_log_loss`]])}));
  lines(container, series, 'Learning curve: log loss of the built-in prior, the site model and the blend, by labels',
    {width: 480, height: 190, xLabel: (n) => `${fmt(n, 0)} labels`, minSpan: 1, yStep: 0.05, yDigits: 2,
      empty: 'The learning curve starts with the first commit that has labels to score.'});
}

const MAX_CONTEXT_SENTENCES = 4;

function learnedSentences(learned) {
  const contexts = [];
  for (const [feature, weight] of Object.entries(learned.contexts || {})) {  // strongest first
    const word = strength(weight);
    if (word && contexts.length < MAX_CONTEXT_SENTENCES) {
      contexts.push(`${contextSubject(feature)} take a chat ${word} ${weight < 0 ? 'less' : 'more'} often ` +
        'than their struggle suggests.');
    }
  }
  const slope = learned.slope > 1.2
    ? 'Answers follow the struggle signals more sharply than the prior assumed: strong struggle means a chat ' +
      'more surely, mild struggle less so.'
    : 'Answers follow the struggle signals about as sharply as the prior assumed.';
  // The intercept is the shift of a visitor in none of the contexts above, not the site's average.
  const base = strength(learned.intercept);
  const who = contexts.length ? 'Apart from these contexts, visitors' : 'Visitors';
  const rate = base ? `${who} on this site take a chat ${base} ${learned.intercept < 0 ? 'less' : 'more'} often ` +
    'than the prior expects.' : `${who} on this site take chats about as often as the prior expects.`;
  if (!contexts.length) contexts.push('No page, form, device, source or time of day stands out yet.');
  return [...contexts, slope, rate];
}

function exploration(quality) {
  const counts = quality.labels || {};
  const explored = counts.decisions_explored || 0, total = explored + (counts.decisions_regular || 0);
  const figure = el('p', {class: 'exploration'});
  figure.append(el('strong', {}, `Invitations from exploration: ${total ? pct(quality.explored_share) : 'none yet'}`));
  if (total) figure.append(` (${fmt(explored, 0)} of ${fmt(total, 0)})`);
  return [figure, el('small', {class: 'help'}, 'Exploration invites a few visitors whose score is just below the ' +
    'threshold, so the model also learns how they answer. The holdout is not exploration: its visitors are never ' +
    'invited, so that uplift can be measured.')];
}

function renderModel(model) {
  const box = $('model');
  box.replaceChildren();
  const quality = model.quality;
  const list = el('dl', {class: 'facts'});
  const add = (name, value) => list.append(el('dt', {}, name), el('dd', {}, value));
  add('Model version', fmt(model.committed_version === null ? model.serving_version : model.committed_version, 0));
  if (!quality || !quality.n_learned) {
    box.append(list, el('p', {class: 'empty'}, 'No labelled invitations yet: scores come from the built-in prior.'));
    return;
  }
  add('Ranking quality (AUC)', fmt(quality.roc_auc, 3));
  add('Calibration error', fmt(quality.calibration_error, 3));
  add('Labels (accepted / not)', `${quality.positives} / ${quality.negatives}`);
  add('Mean score', fmt(quality.mean_score, 3));
  const curve = el('div', {class: 'chart'});
  renderCurve(curve, quality.history || []);
  const learning = el('div', {class: 'learning-curve'});
  learning.append(el('p', {class: 'verdict'}, sayAndLoss(quality)), curve, el('small', {class: 'help'},
    'Mean log loss on the recent labels, each scored before the model learned from it: lower is better.'),
    ...exploration(quality));
  const facts = el('div', {class: 'learning-facts'});
  facts.append(list);
  if (quality.learned) {
    const sentences = el('ul', {class: 'learned'});
    for (const sentence of learnedSentences(quality.learned)) sentences.append(el('li', {}, sentence));
    facts.append(el('h3', {}, 'What the model has learned'), sentences);
  }
  const panel = el('div', {class: 'learning'});
  panel.append(learning, facts);
  box.append(panel);
}

function renderExports(params) {
  const box = $('exports');
  box.replaceChildren();
  for (const section of ['funnel', 'uplift', 'reasons', 'sessions_by_reason', 'histogram', 'projection',
    'agent_load', 'pages', 'variants', 'hotspots']) {
    const button = el('button', {type: 'button', class: 'quiet'}, section.replace(/_/g, ' '));
    button.addEventListener('click', () => download(section, params));
    box.append(button);
  }
}

function download(section, params) {
  return saveFile(`/v1/admin/sites/${encodeURIComponent(state.site)}/analytics/${section}.csv?${params}`,
    `${state.site}-${section}.csv`);
}

// An admin download: fetched with the token (a plain link could not send it), saved under ``filename``.
export async function saveFile(path, filename) {
  const response = await fetch(path, {headers: {authorization: 'Bearer ' + sessionStorage.getItem(TOKEN_KEY)}});
  if (!response.ok) return false;
  const link = el('a', {href: URL.createObjectURL(await response.blob()), download: filename});
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  return true;
}

// -- rules ---------------------------------------------------------------------------------

const editor = new Editor($('editor'), check);

async function loadRules() {
  if (!state.site) return;
  const base = `/v1/admin/sites/${encodeURIComponent(state.site)}/config`;
  const [schema, current] = await Promise.all([state.schema || api('/v1/admin/config/schema').then((r) => r.body),
    api(base)]);
  state.schema = schema;
  state.config = current.body;
  $('config-version').textContent = `version ${current.body.version}` +
    (current.body.author ? `, saved by ${current.body.author}` : '');
  editor.render(schema, current.body.config);
  showCheck({valid: true, errors: [], changes: []});
  await loadHistory();
}

// The editor's own problems (JSON that does not parse, a page group with no name) come first; the
// rest of the document is still checked, unless it could not be read at all.
async function check() {
  const {document, problems} = editor.read();
  if (problems.some((p) => p.field === '(json)')) { showCheck({valid: false, errors: problems, changes: []}); return; }
  const {body} = await api(`/v1/admin/sites/${encodeURIComponent(state.site)}/config/validate`,
    {method: 'POST', json: document});
  showCheck({valid: body.valid && !problems.length, errors: [...problems, ...body.errors], changes: body.changes});
}

function showCheck(result) {
  state.checked = result;
  const unplaced = editor.showProblems(result.errors);
  $('editor-errors').textContent = result.errors.length
    ? `${result.errors.length} problem${result.errors.length > 1 ? 's' : ''} to fix before saving.` +
      unplaced.map((p) => ` ${p.field}: ${p.message}`).join('')
    : '';
  const box = $('changes');
  box.replaceChildren();
  if (result.valid && !result.changes.length) box.append(el('p', {class: 'empty'}, 'No changes yet.'));
  const list = el('ul', {class: 'changes'});
  for (const change of result.changes) {
    list.append(el('li', {}, `${change.field}: ${JSON.stringify(change.from)} → ${JSON.stringify(change.to)}`));
  }
  if (result.changes.length) box.append(list);
  $('save').disabled = !(result.valid && result.changes.length);
}

async function save() {
  const {document} = editor.read();
  $('save').disabled = true;
  const {ok, status, body} = await api(`/v1/admin/sites/${encodeURIComponent(state.site)}/config`, {
    method: 'PUT', json: document,
    headers: {'if-match': `"${state.config.version}"`, 'x-tactful-author': $('author').value.trim()},
  });
  if (ok) {
    await loadRules();
    $('save-status').textContent = `Saved as version ${body.version}. Every server applies it within a few seconds.`;
  } else {
    $('save-status').textContent = status === 409 ? body.message : 'Not saved: ' + body.message;
    if (body.errors) showCheck({valid: false, errors: body.errors, changes: []});
  }
}

async function loadHistory() {
  const {body} = await api(`/v1/admin/sites/${encodeURIComponent(state.site)}/config/versions`);
  const list = $('history');
  list.replaceChildren();
  for (const version of body.versions) {
    const when = version.at_ms ? new Date(version.at_ms).toLocaleString('en-GB') : 'before history';
    const item = el('li', {}, `v${version.version} · ${version.author || 'unknown'} · ${when}`);
    const summary = version.note || version.changes.map((c) => c.field).join(', ') || 'no changes';
    item.append(el('small', {class: 'help'}, summary));
    if (version.version !== state.config.version) {
      const button = el('button', {type: 'button', class: 'quiet'}, `Restore v${version.version}`);
      button.addEventListener('click', () => rollback(version.version));
      item.append(button);
    }
    list.append(item);
  }
}

async function rollback(version) {
  const {ok, body} = await api(`/v1/admin/sites/${encodeURIComponent(state.site)}/config/rollback`, {
    method: 'POST', json: {version},
    headers: {'if-match': `"${state.config.version}"`, 'x-tactful-author': $('author').value.trim()},
  });
  await loadRules();
  $('save-status').textContent = ok ? `Restored version ${version} as version ${body.version}.` : body.message;
}

async function whatIf() {
  const {document, problems} = editor.read();
  const box = $('whatif-result');
  if (problems.length || (state.checked && !state.checked.valid)) {
    box.replaceChildren(el('p', {class: 'error'}, 'Fix the problems first.'));
    return;
  }
  box.replaceChildren(el('p', {class: 'status'}, 'Replaying past traffic…'));
  const params = windowParams(Number($('whatif-period').value));
  const typed = $('whatif-agents').value.trim();
  const request = typed === '' ? {config: document} : {config: document, agents: Number(typed)};
  const {ok, body} = await api(`/v1/admin/sites/${encodeURIComponent(state.site)}/what-if?${params}`,
    {method: 'POST', json: request});
  if (!ok) { box.replaceChildren(el('p', {class: 'error'}, body.message)); return; }
  const rows = [
    ['Invitations', (r) => fmt(r.invitations, 0)],
    ['Expected accepted chats', (r) => fmt(r.expected_acceptances, 1)],
    ['Peak chats at once', (r) => `${fmt(r.peak_expected_concurrent_chats, 1)} of ${r.capacity_slots} slots`],
    ['Median wait to invitation', (r) => r.time_to_invite_s.median === null ? '–' : `${fmt(r.time_to_invite_s.median, 0)} s`],
    ['Score threshold', (r) => fmt(r.candidates.threshold, 2)],
    ['Sessions whose score reached the threshold', (r) => fmt(r.candidates.reached_threshold, 0)],
    ['Sessions replayed', (r) => fmt(r.sessions, 0)],
  ];
  const t = el('table', {class: 'compare'});
  const head = el('tr');
  head.append(el('th', {scope: 'col'}, ''), el('th', {scope: 'col'}, 'Now'), el('th', {scope: 'col'}, 'With your change'));
  t.append(head);
  for (const [label, value] of rows) {
    const tr = el('tr');
    tr.append(el('th', {scope: 'row'}, label), el('td', {}, value(body.current)), el('td', {}, value(body.proposed)));
    t.append(tr);
  }
  const model = body.scored_by.labels
    ? `today's model (version ${body.scored_by.model_version}, learned from ${fmt(body.scored_by.labels, 0)} answers)`
    : "today's model (the prior: nothing learned yet)";
  const agents = `${body.agents} agent${body.agents === 1 ? '' : 's'}` +
    (typed === '' ? ' (as many as are online now)' : ` (${body.agents_online} online now)`);
  box.replaceChildren(t,
    el('small', {class: 'help'},
      `${body.window.log_entries} batches of past events, replayed with ${agents}. Nothing was saved.`),
    el('p', {class: 'help', id: 'whatif-why'},
      `Why this can differ from the threshold slider: the replay scores every visit again with ${model}, ` +
      'where the slider shows the scores at the time; and it applies every rule (the score held long enough, ' +
      'cool-downs and caps, the holdout, the agents), where the slider counts every session that reached the ' +
      'threshold. Expected accepted chats add up each invitation\'s score: a higher threshold invites later, ' +
      'at a higher score, so it can expect more chats from the same invitations, counting only visitors who ' +
      'stayed as long as they did.'));
}

// -- wiring --------------------------------------------------------------------------------

// Every tab in the bar, whichever module fills its panel: a tab shows the panel it controls.
const TABS = [...document.querySelectorAll('.tabs [role=tab]')];

function showTab(name) {
  for (const tab of TABS) {
    const panel = tab.getAttribute('aria-controls');
    $(panel).hidden = panel !== name;
    tab.setAttribute('aria-selected', String(panel === name));
  }
}

$('sign-in-form').addEventListener('submit', (event) => {
  event.preventDefault();
  signIn($('token').value.trim());
});
$('sign-out').addEventListener('click', signOut);
$('refresh').addEventListener('click', () => loadReport());
$('period').addEventListener('change', () => loadReport());
$('site').addEventListener('change', () => {
  state.site = $('site').value;
  announceSite();
  loadReport();
  loadRules();
});
$('threshold').addEventListener('input', renderThreshold);
$('use-threshold').addEventListener('click', () => {
  editor.set('timing.score_threshold', $('threshold').value);
  showTab('rules');
});
for (const tab of TABS) tab.addEventListener('click', () => showTab(tab.getAttribute('aria-controls')));
$('save').addEventListener('click', save);
$('whatif').addEventListener('click', whatIf);
if (sessionStorage.getItem(TOKEN_KEY)) signIn(sessionStorage.getItem(TOKEN_KEY));
