// ipwatch review workbench: keyboard decisions, bulk decisions, import, prepare complaints.
// Every change is a POST carrying the page's CSRF token; the server checks it.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const message = document.getElementById("message");

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
      say(decision + "d " + card.dataset.key);
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

  document.querySelectorAll("button.bulk").forEach((button) => {
    button.addEventListener("click", async () => {
      const params = new URLSearchParams(window.location.search);
      params.set("scope", button.dataset.scope);
      if (button.dataset.seller) params.set("seller", button.dataset.seller);
      try {
        const preview = await (await fetch("/bulk/preview?" + params.toString(), { credentials: "same-origin" })).json();
        const what = button.dataset.scope === "seller" ? "of " + button.dataset.seller : "in this filter";
        if (!preview.count) { say("no listing " + what); return; }
        if (!window.confirm(button.dataset.decision + " " + preview.count + " listing(s) " + what + "?")) return;
        const body = Object.fromEntries(params.entries());
        body.decision = button.dataset.decision;
        body.confirm = preview.count;
        const done = await post("/bulk", body);
        say(done.decision + "d " + done.decided + " listing(s) " + what);
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
        say("imported: " + counts.approve + " approved, " + counts.reject + " rejected, " + counts.unknown +
            " not in this run");
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
      } catch (error) { say(error.message, true); window.location.reload(); }
    });
  }

  focus(0);
})();
