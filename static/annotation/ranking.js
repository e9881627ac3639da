// Turns each criterion's rank inputs into a list of response cards ordered by drag and drop or by keyboard.
// Keyboard: Tab to a response, Alt+ArrowUp / Alt+ArrowDown moves it; or Space picks it up, the arrows move
// it and Space (or Enter) puts it down; ArrowUp / ArrowDown alone move the focus. The hidden rank inputs
// are filled only after the annotator has ordered the list (or confirmed its order), so an untouched list
// is never submitted by accident. Each card carries its response's full text, collapsed to a few lines
// behind a "Show full answer" button, so the separate list of responses is hidden; one criterion is open
// at a time (the first with an error, else the first not yet ranked), the others show their status.
(function () {
  "use strict";
  const form = document.getElementById("ranking-form");
  if (!form) return;
  const ties = form.dataset.ties === "true";
  const announcer = document.getElementById("ranking-announcer");
  const say = (text) => { announcer.textContent = ""; window.setTimeout(() => { announcer.textContent = text; }, 30); };
  form.querySelectorAll(".ranking-js-help").forEach((el) => { el.hidden = false; });
  const textOf = (position) => document.querySelector(`#response-${position} .ranking-text`).textContent;
  document.querySelectorAll(".ranking-responses-card").forEach((el) => { el.hidden = true; });
  const criteria = [];

  function open(criterion) {
    criteria.forEach((other) => {
      const shown = other === criterion;
      other.body.hidden = !shown;
      other.fieldset.classList.toggle("rank-collapsed", !shown);
      other.toggle.setAttribute("aria-expanded", String(shown));
      other.toggle.hidden = shown;
      other.confirm.hidden = !shown;
    });
  }

  form.querySelectorAll(".ranking-criterion").forEach((fieldset) => {
    const name = fieldset.dataset.name;
    const inputs = Array.from(fieldset.querySelectorAll(".ranking-inputs input"));
    const k = inputs.length;
    const byPosition = new Map(inputs.map((input) => [input.dataset.position, input]));
    const body = fieldset.querySelector(".ranking-criterion-body");
    body.id = `criterion-${fieldset.dataset.criterion}-body`;
    fieldset.querySelector(".ranking-inputs").hidden = true;
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "secondary rank-open";
    toggle.textContent = `Rank ${name}`;
    toggle.setAttribute("aria-controls", body.id);

    const list = document.createElement("ol");
    list.className = "rank-list";
    list.setAttribute("aria-label", `${name}: best at the top, worst at the bottom`);
    const status = document.createElement("p");
    status.className = "rank-status";
    const confirm = document.createElement("button");
    confirm.type = "button";
    confirm.className = "secondary rank-confirm";
    confirm.textContent = `This order is right for ${name}`;

    // Start from earlier values (after a failed submission) or the order shown.
    const start = inputs.slice().sort((a, b) => (Number(a.value) || 99) - (Number(b.value) || 99) || a.dataset.position - b.dataset.position);
    let confirmed = inputs.every((input) => input.value !== "");
    start.forEach((input, index) => {
      const item = document.createElement("li");
      item.className = "rank-item";
      item.tabIndex = 0;
      item.draggable = true;
      item.dataset.position = input.dataset.position;
      item.setAttribute("aria-roledescription", "sortable response");
      const label = document.createElement("span");
      label.className = "rank-label";
      label.textContent = `Response ${input.dataset.position}`;
      const text = document.createElement("p");
      text.className = "rank-text";
      text.id = `rank-text-${fieldset.dataset.criterion}-${input.dataset.position}`;
      text.textContent = textOf(input.dataset.position);
      const expand = document.createElement("button");
      expand.type = "button"; expand.className = "link-button rank-expand"; expand.textContent = "Show full answer";
      expand.setAttribute("aria-expanded", "false");
      expand.setAttribute("aria-controls", text.id);
      expand.addEventListener("click", () => {
        const full = text.classList.toggle("rank-text-full");
        expand.setAttribute("aria-expanded", String(full));
        expand.textContent = full ? "Show less" : "Show full answer";
      });
      item.append(label, expand);
      const up = document.createElement("button");
      up.type = "button"; up.className = "rank-move"; up.textContent = "↑";
      up.setAttribute("aria-label", `Move response ${input.dataset.position} up`);
      const down = document.createElement("button");
      down.type = "button"; down.className = "rank-move"; down.textContent = "↓";
      down.setAttribute("aria-label", `Move response ${input.dataset.position} down`);
      up.addEventListener("click", () => move(item, -1, up));
      down.addEventListener("click", () => move(item, +1, down));
      item.append(up, down);
      if (ties) {
        const tie = document.createElement("label");
        tie.className = "rank-tie";
        const box = document.createElement("input");
        box.type = "checkbox";
        box.addEventListener("change", () => { confirmed = true; sync(); });
        tie.append(box, document.createTextNode(" tied with the one above"));
        item.append(tie);
        if (index > 0 && input.value && Number(input.value) === Number(start[index - 1].value)) box.checked = true;
      }
      item.append(text);
      list.append(item);
    });
    body.append(list);
    const summary = document.createElement("div");
    summary.className = "rank-summary";
    summary.append(status, confirm, toggle);
    fieldset.append(summary);
    const criterion = { fieldset, body, toggle, confirm, confirmed: () => confirmed };
    criteria.push(criterion);
    toggle.addEventListener("click", () => { open(criterion); list.firstElementChild.focus(); });

    function items() { return Array.from(list.children); }

    function sync() {
      const ordered = items();
      let rank = 0;
      ordered.forEach((item, index) => {
        const box = item.querySelector(".rank-tie input");
        if (box) { box.disabled = index === 0; if (index === 0) box.checked = false; }
        rank = box && box.checked && index > 0 ? rank : index + 1;
        item.dataset.rank = rank;
        item.querySelector(".rank-label").textContent = `${rank}. Response ${item.dataset.position}`;
        byPosition.get(item.dataset.position).value = confirmed ? String(rank) : "";
      });
      status.textContent = confirmed ? "Ranked." : "Not ranked yet: order the responses or confirm the order.";
      fieldset.classList.toggle("rank-done", confirmed);
    }

    function move(item, delta, focusTarget) {
      const ordered = items();
      const index = ordered.indexOf(item);
      const target = index + delta;
      if (target < 0 || target >= ordered.length) return;
      if (delta < 0) list.insertBefore(item, ordered[target]);
      else list.insertBefore(item, ordered[target].nextSibling);
      confirmed = true;
      sync();
      (focusTarget || item).focus();
      say(`Response ${item.dataset.position} moved to place ${target + 1} of ${k} for ${name}.`);
    }

    list.addEventListener("keydown", (event) => {
      const item = event.target.closest(".rank-item");
      if (!item || event.target !== item) return;
      const ordered = items();
      const index = ordered.indexOf(item);
      const grabbed = item.classList.contains("rank-grabbed");
      if (event.key === " " || (event.key === "Enter" && grabbed)) {
        event.preventDefault();
        item.classList.toggle("rank-grabbed");
        item.setAttribute("aria-grabbed", String(!grabbed));
        say(grabbed ? `Response ${item.dataset.position} dropped at place ${index + 1}.` : `Response ${item.dataset.position} picked up. Use the arrow keys, then Space to drop.`);
      } else if (event.key === "ArrowUp" || event.key === "ArrowDown") {
        event.preventDefault();
        const delta = event.key === "ArrowUp" ? -1 : 1;
        if (event.altKey || grabbed) move(item, delta);
        else if (ordered[index + delta]) ordered[index + delta].focus();
      } else if (event.key === "Escape" && grabbed) {
        item.classList.remove("rank-grabbed");
      }
    });

    let dragged = null;
    list.addEventListener("dragstart", (event) => {
      dragged = event.target.closest(".rank-item");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.dataset.position);
    });
    list.addEventListener("dragover", (event) => {
      event.preventDefault();
      const over = event.target.closest(".rank-item");
      if (!dragged || !over || over === dragged) return;
      const box = over.getBoundingClientRect();
      list.insertBefore(dragged, event.clientY < box.top + box.height / 2 ? over : over.nextSibling);
    });
    list.addEventListener("drop", (event) => {
      event.preventDefault();
      if (!dragged) return;
      confirmed = true;
      sync();
      say(`Response ${dragged.dataset.position} moved to place ${items().indexOf(dragged) + 1} of ${k}.`);
      dragged = null;
    });
    confirm.addEventListener("click", () => { confirmed = true; sync(); say(`${name}: order confirmed.`); });
    sync();
  });

  open(criteria.find((c) => c.fieldset.hasAttribute("data-invalid")) || criteria.find((c) => !c.confirmed()) || criteria[0]);

  // The error summary's links to a criterion open it and put the focus on its first response.
  document.querySelectorAll("[data-error-summary] a").forEach((link) => {
    const target = document.getElementById(link.hash.slice(1));
    const criterion = target && criteria.find((c) => c.fieldset.contains(target));
    if (!criterion) return;
    link.addEventListener("click", (event) => {
      event.preventDefault();
      open(criterion);
      criterion.fieldset.querySelector(".rank-item").focus();
    });
  });
})();
