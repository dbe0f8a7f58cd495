// "Sent from this device": every op this device sent and the server's answer,
// read from the device's own store (outbox.sentLog), so it works offline, and
// downloaded as CSV made here, without the server.
import * as outbox from "/sync/static/outbox.js";

const ANSWERS = {
  applied: "Applied",
  duplicate: "Already applied (sent again)",
  superseded: "Superseded by a later change",
  refused: "Refused",
};
const CSV_HEADER = ["answered_at", "answer", "reason", "inspection_id", "standard", "field", "value", "made_at",
                    "op_id"];

export async function bind(section) {
  const entries = await outbox.sentLog();
  const summary = section.querySelector("[data-sent-summary]");
  const table = section.querySelector("table");
  const rows = section.querySelector("[data-sent-rows]");
  const template = section.querySelector("template[data-sent-row]");
  const labels = verdictLabels();
  rows.replaceChildren();
  for (const entry of entries) {
    const tr = template.content.firstElementChild.cloneNode(true);
    tr.dataset.answer = entry.answer;
    tr.dataset.op = entry.op_id;
    setTime(tr.querySelector("[data-answered]"), entry.answered_at);
    setTime(tr.querySelector("[data-made]"), entry.made_at);
    const link = tr.querySelector("[data-standard]");
    link.href = `/inspections/${entry.inspection_id}/standards/${encodeURIComponent(entry.standard)}`;
    link.textContent = entry.standard;
    tr.querySelector("[data-field]").textContent = entry.field.replace(/_/g, " ");
    tr.querySelector("[data-value]").textContent = shorten(describe(entry, labels), 140);
    tr.querySelector("[data-answer]").textContent = ANSWERS[entry.answer] || entry.answer;
    tr.querySelector("[data-reason]").textContent = entry.reason ? `: ${entry.reason}` : "";
    rows.append(tr);
  }
  const n = entries.length;
  const refused = entries.filter((e) => e.answer === "refused").length;
  summary.textContent = n ? `${n} change${n === 1 ? "" : "s"} answered by the server` +
    (refused ? `, ${refused} refused.` : ", none refused.") : "Nothing sent from this device yet.";
  table.hidden = !n;
  const button = section.querySelector("[data-sent-csv]");
  button.hidden = !n;
  button.onclick = () => download(`sent-from-this-device-${isoDate(new Date())}.csv`, csv(entries, labels));
}

function verdictLabels() {
  const el = document.getElementById("verdict-labels");
  return el ? { ...JSON.parse(el.textContent), null: el.dataset.none } : {};
}

/** A value as a person reads it: a verdict's label, a text, a photo's state. */
function describe(entry, labels) {
  const { field, value } = entry;
  if (field === "verdict") return labels[value] || value || labels.null || "Not assessed";
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && value.sha256) {
    const rest = Object.entries(value).filter(([k]) => k !== "sha256").map(([k, v]) => `${k.replace(/_/g, " ")} ${v}`);
    return `photo ${value.sha256.slice(0, 8)}…${rest.length ? ": " + rest.join(", ") : ""}`;
  }
  return JSON.stringify(value);
}

const shorten = (text, n) => (text.length > n ? text.slice(0, n - 1) + "…" : text);

/** Local time for people, ISO (milliseconds at most) in `datetime`. */
function setTime(el, ms) {
  if (!ms) { el.textContent = "—"; return; }
  const at = new Date(ms);
  el.dateTime = at.toISOString();
  el.textContent = at.toLocaleString([], { day: "numeric", month: "short", year: "numeric", hour: "2-digit",
                                           minute: "2-digit" });
}

const isoDate = (d) => d.toISOString().slice(0, 10);

// Text a spreadsheet would run as a formula starts with a quote instead
// (the same rule as the reports' CSV, inspector/domain/reports.py _safe_cell).
const safe = (v) => (typeof v === "string" && /^[=+\-@\t\r]/.test(v) ? "'" + v : v);
const cell = (v) => {
  const s = String(safe(v ?? ""));
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The answers as CSV, as the server writes its CSVs (BOM, CRLF); times in ISO UTC. */
export function csv(entries, labels = {}) {
  const iso = (ms) => (ms ? new Date(ms).toISOString() : "");
  const lines = [CSV_HEADER, ...entries.map((e) => [
    iso(e.answered_at), e.answer, e.reason || "", e.inspection_id, e.standard, e.field, describe(e, labels),
    iso(e.made_at), e.op_id])];
  return "\ufeff" + lines.map((row) => row.map(cell).join(",")).join("\r\n") + "\r\n";
}

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const a = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
