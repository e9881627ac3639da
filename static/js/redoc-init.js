// Starts Redoc from a file, not an inline script, so the page keeps the strict script policy.
(function () {
  // Redoc's sidebar footer shows the Redocly logo from Redocly's CDN. This page fetches nothing from other
  // sites, so an image is never given another origin's address (the footer keeps its text link).
  const elsewhere = (value) => {
    const url = new URL(String(value), location.href);
    return url.protocol !== "data:" && url.origin !== location.origin;
  };
  const image = HTMLImageElement.prototype;
  const src = Object.getOwnPropertyDescriptor(image, "src");
  Object.defineProperty(image, "src", {
    ...src,
    set(value) { if (!elsewhere(value)) src.set.call(this, value); },
  });
  const setAttribute = Element.prototype.setAttribute;
  image.setAttribute = function (name, value) {
    if (String(name).toLowerCase() !== "src" || !elsewhere(value)) setAttribute.call(this, name, value);
  };
  const container = document.getElementById("redoc-container");
  Redoc.init(container.dataset.schemaUrl, JSON.parse(container.dataset.settings), container);
})();
