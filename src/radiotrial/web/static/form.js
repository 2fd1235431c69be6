// Progressive enhancement of the request forms; the forms work without it.
(function () {
  "use strict";
  // a blank form preselects the browser's time zone (the server preselects the site's)
  var tz = document.getElementById("time_zone");
  if (tz && tz.dataset.detect === "1" && window.Intl) {
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
  // the patient's details are asked only when someone else writes
  var other = document.querySelector("[data-about-other]");
  var who = document.querySelectorAll("input[name=requester_type]");
  function showPatient() {
    if (!other) { return; }
    var chosen = document.querySelector("input[name=requester_type]:checked");
    other.hidden = !chosen || chosen.value === "patient";
  }
  for (var j = 0; j < who.length; j++) { who[j].addEventListener("change", showPatient); }
  showPatient();
})();
