// Progressive enhancement of the request forms; the forms work without it.
(function () {
  "use strict";
  var tz = document.getElementById("time_zone");
  if (tz && tz.dataset.default === "Asia/Shanghai" && window.Intl) {
    var local = Intl.DateTimeFormat().resolvedOptions().timeZone;
    for (var i = 0; i < tz.options.length; i++) {
      if (tz.options[i].value === local) { tz.value = local; break; }
    }
  }
  // the cross-border consent applies only to people living outside the trial country
  var country = document.getElementById("country");
  var abroad = document.querySelector("[data-abroad-only]");
  function update() {
    if (!country || !abroad) { return; }
    var home = abroad.getAttribute("data-abroad-only");
    abroad.hidden = !country.value || country.value === home;
  }
  if (country) { country.addEventListener("change", update); update(); }
})();
