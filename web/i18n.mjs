// Every string of the web map's interface, in one catalogue: zh-CN by default, English by the
// switch (kept in localStorage). The page's static text carries data-i18n keys (data-i18n-
// placeholder, data-i18n-title for attributes); app.mjs asks t(key, values). Dates and numbers
// are written in the language's local form. Data — names, the layer definitions' words — is
// shown as the store has it.

export const MESSAGES = {
  'app.title': { zh: '长三角生态绿色一体化发展示范区 联防联控', en: 'Yangtze Delta demonstration zone · joint prevention and control' },
  'app.lang': { zh: 'English', en: '中文' },
  'app.save': { zh: '保存地图（PNG）', en: 'Save map as PNG' },
  'app.search': { zh: '搜索名称或编号', en: 'Search a name or ID' },
  'app.start_failed': { zh: '地图无法启动：{msg}', en: 'cannot start the map: {msg}' },
  'app.none': { zh: '无', en: 'none' },
  'panel.layers': { zh: '图层', en: 'Layers' },
  'panel.hyacinth': { zh: '水葫芦（按日期）', en: 'Hyacinth reports by date' },
  'panel.from': { zh: '自', en: 'from' },
  'panel.to': { zh: '至', en: 'to' },
  'panel.quality': { zh: '水质', en: 'Water quality' },
  'quality.hint': { zh: '断面按最新水质类别（GB 3838-2002）着色，红色粗边表示未达目标；点击断面查看时间序列。', en: 'Sections are coloured by their latest class (GB 3838-2002); a thick red ring: target missed. Click a section for its series.' },
  'quality.indicator': { zh: '指标', en: 'indicator' },
  'quality.step': { zh: '步长', en: 'step' },
  'quality.day': { zh: '日均', en: 'daily mean' },
  'quality.raw': { zh: '原始', en: 'raw' },
  'quality.month': { zh: '月均', en: 'monthly mean' },
  'quality.alarms': { zh: '预警', en: 'Open alarms' },
  'quality.no_readings': { zh: '无数据', en: 'no readings' },
  'quality.target': { zh: '目标', en: 'target' },
  'rule.target_missed': { zh: '未达目标', en: 'target missed' },
  'rule.class_worse': { zh: '类别变差', en: 'class worse' },
  'rule.sudden_change': { zh: '突变', en: 'sudden change' },
  'rule.repeated': { zh: '多次异常', en: 'repeated anomalies' },
  'rule.silent': { zh: '断传', en: 'silent station' },
  'panel.labels': { zh: '地名标注', en: 'Place labels' },
  'panel.incidents': { zh: '突发事件', en: 'Incidents' },
  'incident.threatened': { zh: '受威胁（前锋 · 峰值 · 过境）', en: 'Threatened (front · peak · passed)' },
  'incident.notify': { zh: '通知（区县 · 地市 · 省）', en: 'Notify (county · city · province)' },
  'incident.deadlines': { zh: '时限', en: 'Deadlines' },
  'incident.done': { zh: '已完成 {t}', en: 'done {t}' },
  'incident.overdue': { zh: '逾期', en: 'overdue' },
  'incident.pending': { zh: '未到期', en: 'pending' },
  'incident.notified': { zh: '已通知', en: 'Notified' },
  'incident.ack': { zh: '已确认 {t}', en: 'acknowledged {t}' },
  'incident.none_yet': { zh: '尚无', en: 'none yet' },
  'incident.plan': { zh: '应急监测方案', en: 'monitoring plan' },
  'incident.notice': { zh: '通报', en: 'notice' },
  'level.county': { zh: '区县', en: 'county' },
  'level.city': { zh: '地市', en: 'city' },
  'level.province': { zh: '省', en: 'province' },
  'panel.findings': { zh: '巡河问题', en: 'Patrol findings' },
  'finding.state': { zh: '状态', en: 'state' },
  'finding.all': { zh: '全部', en: 'all' },
  'state.open': { zh: '待整改', en: 'open' },
  'state.rectifying': { zh: '整改中', en: 'rectifying' },
  'state.rectified': { zh: '已整改', en: 'rectified' },
  'state.verified': { zh: '已核查', en: 'verified' },
  'state.closed': { zh: '已销号', en: 'closed' },
  'finding.deadline': { zh: '整改期限', en: 'deadline' },
  'finding.by_kind': { zh: '按类型', en: 'by kind' },
  'finding.report': { zh: '整改报告', en: 'Rectification report' },
  'finding.open_report': { zh: '打开', en: 'open' },
  'panel.gates': { zh: '闸泵调度', en: 'Gate operations' },
  'action.open': { zh: '开闸', en: 'open' },
  'action.close': { zh: '关闸', en: 'close' },
  'action.reverse': { zh: '反向', en: 'reverse' },
  'op.planned': { zh: '计划', en: 'planned' },
  'op.actual': { zh: '实际', en: 'actual' },
  'op.cancelled': { zh: '取消', en: 'cancelled' },
  'op.emergency': { zh: '应急', en: 'emergency' },
  'gate.due': { zh: '预通报时限 {t}（提前 {h} 小时）：', en: 'advance notice due {t} ({h} h ahead): ' },
  'gate.sent': { zh: '已通报 {t}', en: 'sent {t}' },
  'gate.overdue': { zh: '逾期未通报', en: 'overdue, none sent' },
  'gate.reached': { zh: '到达', en: 'Reached' },
  'gate.notice': { zh: '预通报', en: 'advance notice' },
  'panel.trace': { zh: '追踪', en: 'Trace' },
  'trace.down': { zh: '下游', en: 'downstream' },
  'trace.up': { zh: '上游', en: 'upstream' },
  'trace.max_km': { zh: '最远（公里）', en: 'max km' },
  'trace.main': { zh: '仅干流', en: 'mainstem only' },
  'trace.click': { zh: '点击地图追踪', en: 'Click the map to trace' },
  'trace.clicking': { zh: '追踪中：点击河流（再按停止）', en: 'Tracing: click a river (again to stop)' },
  'trace.point': { zh: '坐标', en: 'Point' },
  'trace.point_hint': { zh: '120.8792,31.025 或 120°52\'45"E,31°1\'30"N', en: '120.8792,31.025 or 120°52\'45"E,31°1\'30"N' },
  'trace.gcj': { zh: '手机地图坐标（GCJ-02）', en: "a phone's map location (GCJ-02)" },
  'trace.here': { zh: '追踪此点', en: 'Trace this point' },
  'trace.spill': { zh: '泄漏量（千克）', en: 'Spill (kg)' },
  'trace.over': { zh: '持续（小时）', en: 'over (h)' },
  'trace.swapped': { zh: '纬度在前，已调换：按 {lon}, {lat} 追踪', en: 'latitude first, turned round: traced at {lon}, {lat}' },
  'trace.reaches': { zh: '{n} 个河段，起于 {id}', en: '{n} reaches from {id}' },
  'trace.threatened': { zh: '受威胁（取水口、保护区、断面，按到达先后）', en: 'Threatened first (intakes, zones, sections, by arrival)' },
  'trace.peak': { zh: '峰值 {t}', en: 'peak {t}' },
  'trace.passed': { zh: '过境 {t}', en: 'passed {t}' },
  'trace.none_in_bound': { zh: '范围内无', en: 'none within the bound' },
  'trace.notify': { zh: '通知（按到达先后）', en: 'Notify, in this order' },
  'trace.attribution': { zh: '溯源：上游可能的污染源（按辖区，由近及远）', en: 'Possible sources upstream (by jurisdiction, nearest first)' },
  'trace.more': { zh: '… 另有 {n} 个', en: '… {n} more' },
  'trace.upstream_juris': { zh: '上游辖区', en: 'Jurisdictions upstream' },
  'trace.met': { zh: '途经要素 {n} 个', en: '{n} features met' },
  'trace.prev': { zh: '上一页', en: 'previous' },
  'trace.next': { zh: '下一页', en: 'next' },
  'trace.csv': { zh: '下载 CSV', en: 'Download CSV' },
  'panel.patrol': { zh: '巡河', en: 'Patrol' },
  'patrol.target': { zh: '对象', en: 'what' },
  'patrol.date': { zh: '日期', en: 'date' },
  'patrol.boat': { zh: '乘船', en: 'by boat' },
  'patrol.foot': { zh: '步行', en: 'on foot' },
  'patrol.plan': { zh: '规划巡河', en: 'Plan the patrol' },
  'patrol.summary': { zh: '{km} 公里，{h} 小时，{n} 个检查点', en: '{km} km, {h} h, {n} stops' },
  'patrol.legs': { zh: '分段', en: 'Legs' },
  'patrol.stops': { zh: '检查点', en: 'Stops' },
  'patrol.checklist': { zh: '检查表 CSV', en: 'checklist CSV' },
  'patrol.printable': { zh: '可打印检查表', en: 'printable checklist' },
  'popup.provenance': { zh: '来源', en: 'provenance' },
  'legend.other': { zh: '其他 other', en: 'other 其他' },
  'err.point': { zh: '需要一个点', en: 'a point is needed' },
  'err.direction': { zh: '方向：上游或下游', en: 'direction: up or down' },
  'err.max_km': { zh: '最远距离：须为正数（公里）', en: 'max km: a positive number' },
  'err.spill': { zh: '泄漏量：须为正数（千克）', en: 'spill: a positive number of kg' },
  'err.spill_up': { zh: '泄漏量：泄漏估算只用于下游追踪', en: 'spill: a spill goes downstream' },
  'err.duration': { zh: '持续时间：须为正数（小时）', en: 'duration: a positive number of hours' },
  'err.coord_form': { zh: '坐标：经度,纬度（如 120.8792,31.025 或 120°52\'45"E,31°1\'30"N）', en: 'coordinates: LON,LAT (e.g. 120.8792,31.025 or 120°52\'45"E,31°1\'30"N)' },
  'err.coord_value': { zh: '坐标：“{text}”不是十进制度或度分秒', en: "coordinates: '{text}' is not decimal degrees or DMS" },
  'err.coord_range': { zh: '坐标：{a}, {b} 超出地球范围', en: 'coordinates: {a}, {b} is not on the Earth' },
  'err.patrol_target': { zh: '巡河：请选择一河三湖或一条河', en: 'patrol: choose 一河三湖 or name a river' },
  'err.patrol_date': { zh: '巡河：日期格式为 YYYY-MM-DD', en: 'patrol: date YYYY-MM-DD' },
  'err.patrol_mode': { zh: '巡河：乘船或步行', en: 'patrol: boat or foot' },
  'unit.km': { zh: '公里', en: 'km' },
  'unit.m': { zh: '米', en: 'm' },
  'unit.h': { zh: '小时', en: 'h' },
};

let lang = 'zh';
try {
  lang = globalThis.localStorage?.getItem('crossriver.lang') === 'en' ? 'en' : 'zh';
} catch { /* no storage: Chinese */ }

export const language = () => lang;
export const locale = () => (lang === 'en' ? 'en-GB' : 'zh-CN');

export function setLanguage(l) {
  lang = l === 'en' ? 'en' : 'zh';
  try { globalThis.localStorage?.setItem('crossriver.lang', lang); } catch { /* not kept */ }
}

// The message for key in the current language, {name} filled from values; an unknown key is
// said, never silently blank.
export function t(key, values = {}) {
  const m = MESSAGES[key];
  if (!m) return `⟦${key}⟧`;
  return m[lang].replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ''));
}

// Numbers and times in the language's local form.
export function num(v, digits = 1) {
  return Number.isFinite(Number(v)) ? new Intl.NumberFormat(locale(), { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(Number(v)) : '';
}
// "2025-08-12T06:00:00" (CST as written) → 8月12日 06:00 / 12 Aug 06:00 (with the year when
// asked); the time zone is the one written, not the reader's.
export function when(iso, withYear = false) {
  const m = String(iso ?? '').match(/^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?/);
  if (!m) return String(iso ?? '');
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] ?? 0), +(m[5] ?? 0)));
  const opt = { timeZone: 'UTC', month: lang === 'en' ? 'short' : 'long', day: 'numeric' };
  if (withYear) opt.year = 'numeric';
  if (m[4] !== undefined) Object.assign(opt, { hour: '2-digit', minute: '2-digit', hour12: false });
  return new Intl.DateTimeFormat(locale(), opt).format(d);
}

// Fill the page's static text: textContent of [data-i18n], and the attributes named by
// data-i18n-placeholder / data-i18n-title / data-i18n-aria.
export function applyStatic(root) {
  root.documentElement?.setAttribute('lang', lang === 'en' ? 'en' : 'zh-CN');
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.setAttribute('placeholder', t(el.dataset.i18nPlaceholder));
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.setAttribute('title', t(el.dataset.i18nTitle));
  for (const el of root.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
}
