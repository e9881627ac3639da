// A page shown again with errors: move the focus to its error summary, so that it is read out first and
// its links lead to each field at fault.
(function () {
  "use strict";
  const summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();
})();
