// Small page behaviours declared in the markup, so that templates need no inline handlers
// (the Content-Security-Policy refuses them):
//   data-autosubmit on a field submits its form when it changes;
//   data-confirm="question" on a form asks before submitting;
//   data-check-all="name" on a checkbox ticks every checkbox of that name.
(function () {
  "use strict";
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.matches("[data-autosubmit]") && el.form) el.form.submit();
    if (el.matches("[data-check-all]")) {
      document.querySelectorAll('input[type=checkbox][name="' + el.dataset.checkAll + '"]').forEach(function (c) {
        c.checked = el.checked;
      });
    }
  });
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.matches("form[data-confirm]") && !window.confirm(form.dataset.confirm)) ev.preventDefault();
  });
})();
