// On small screens the main navigation folds behind a "Menu" button; without JavaScript it stays unfolded.
(function () {
  const nav = document.querySelector("[data-nav]");
  const toggle = nav && nav.querySelector(".nav-toggle");
  if (!toggle) return;
  toggle.hidden = false;
  nav.classList.add("foldable");
  toggle.addEventListener("click", () => {
    toggle.setAttribute("aria-expanded", String(toggle.getAttribute("aria-expanded") !== "true"));
  });
})();
