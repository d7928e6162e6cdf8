// ipwatch review workbench: keyboard decisions, bulk decisions, import, prepare complaints.
// Every change is a POST carrying the page's CSRF token; the server checks it.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const message = document.getElementById("message");

  const DONE = { approve: "approved", reject: "rejected" };

  function say(text, bad) {
    if (!message) return;
    message.textContent = text;
    message.className = bad ? "bad" : "good";
  }

  async function post(url, body, isForm) {
    const headers = { "x-csrf-token": csrf };
    if (!isForm) headers["content-type"] = "application/json";
    const response = await fetch(url, { method: "POST", headers, body: isForm ? body : JSON.stringify(body),
                                        credentials: "same-origin" });
    let data = {};
    try { data = await response.json(); } catch (e) { data = { error: await response.text() }; }
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  const cards = Array.from(document.querySelectorAll(".card"));
  let current = 0;

  function focus(index) {
    if (!cards.length) return;
    current = Math.max(0, Math.min(cards.length - 1, index));
    cards.forEach((card, i) => card.classList.toggle("current", i === current));
    cards[current].scrollIntoView({ block: "nearest" });
    cards[current].focus({ preventScroll: true });
  }

  function mark(card, decision) {
    card.className = card.className.replace(/decision-\S+/, "decision-" + decision);
    card.querySelector(".decision").textContent = decision;
  }

  async function decide(decision) {
    const card = cards[current];
    if (!card) return;
    try {
      await post("/decide", { key: card.dataset.key, decision });
      mark(card, decision);
      say(DONE[decision] + " " + card.dataset.key);
      focus(current + 1);
    } catch (error) { say(error.message, true); }
  }

  async function undo() {
    try {
      const data = await post("/undo", {});
      if (!data.reverted.length) { say("nothing to undo"); return; }
      data.reverted.forEach((item) => {
        const card = cards.find((c) => c.dataset.key === item.key);
        if (card) { mark(card, item.decision || "undecided"); focus(cards.indexOf(card)); }
      });
      say("undone: " + data.reverted.map((item) => item.key).join(", "));
    } catch (error) { say(error.message, true); }
  }

  document.addEventListener("keydown", (event) => {
    if (event.target.matches("input, select, textarea") || event.ctrlKey || event.metaKey || event.altKey) return;
    const actions = { a: () => decide("approve"), r: () => decide("reject"), s: () => focus(current + 1),
                      j: () => focus(current + 1), k: () => focus(current - 1), u: undo };
    const action = actions[event.key];
    if (action) { event.preventDefault(); action(); }
  });

  // a filter takes effect as soon as it changes (no inline handlers: the page's policy forbids them)
  document.querySelectorAll(".filters select").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });

  document.querySelectorAll("button.bulk").forEach((button) => {
    button.addEventListener("click", async () => {
      const filters = Object.fromEntries(new URLSearchParams(window.location.search).entries());
      const params = new URLSearchParams(filters);
      params.set("scope", button.dataset.scope);
      if (button.dataset.seller) {
        params.set("seller", button.dataset.seller);
        params.set("seller_platform", button.dataset.platform);
      }
      try {
        const response = await fetch("/bulk/preview?" + params.toString(), { credentials: "same-origin" });
        if (!response.ok) throw new Error(await response.text());
        const preview = await response.json();
        const what = button.dataset.scope === "seller" ? "of seller " + button.dataset.seller + " (" + button.dataset.platform + ")" : "in this filter";
        if (!preview.count) { say("no listing " + what); return; }
        if (!window.confirm(button.dataset.decision + " " + preview.count + " listing(s) " + what + "?")) return;
        const done = await post("/bulk", { scope: button.dataset.scope, seller: button.dataset.seller || "",
                                           seller_platform: button.dataset.platform || "", filters, decision: button.dataset.decision, confirm: preview.count });
        window.sessionStorage.setItem("ipwatch-message", DONE[done.decision] + " " + done.decided + " listing(s) " + what);
        window.location.reload();
      } catch (error) { say(error.message, true); }
    });
  });

  const upload = document.getElementById("import");
  if (upload) {
    upload.addEventListener("change", async () => {
      if (!upload.files.length) return;
      const form = new FormData();
      form.append("file", upload.files[0]);
      try {
        const counts = await post("/import", form, true);
        const text = "imported: " + counts.approve + " approved, " + counts.reject + " rejected, " +
          counts.changed + " changed since (asked again), " + counts.unchanged + " already so, " +
          counts.unknown + " not in this run";
        window.sessionStorage.setItem("ipwatch-message", text);
        window.location.reload();
      } catch (error) { say(error.message, true); }
    });
  }

  const prepare = document.getElementById("prepare");
  if (prepare) {
    prepare.addEventListener("click", async () => {
      prepare.disabled = true;
      say("preparing the batches…");
      try {
        await post("/complaints", { evidence: document.getElementById("evidence").checked });
        window.location.reload();
      } catch (error) {
        window.sessionStorage.setItem("ipwatch-message", "the command failed: " + error.message);
        window.location.reload();
      }
    });
  }

  const kept = window.sessionStorage.getItem("ipwatch-message");
  if (kept) { say(kept); window.sessionStorage.removeItem("ipwatch-message"); }
  focus(0);
})();
