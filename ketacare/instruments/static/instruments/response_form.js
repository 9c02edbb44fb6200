/* Questionnaire entry: sliders mirror their number box, and items hidden by skip logic are shown only when asked. */
(function () {
  "use strict";
  var form = document.getElementById("response-form");
  if (!form) { return; }

  form.querySelectorAll("input.scale-slider").forEach(function (slider) {
    var number = document.getElementById(slider.dataset.number);
    if (!number) { return; }
    var sync = function () {
      if (number.value !== "") { slider.value = number.value; slider.classList.remove("unset"); }
      else { slider.classList.add("unset"); }
    };
    slider.addEventListener("input", function () { number.value = slider.value; slider.classList.remove("unset"); });
    number.addEventListener("input", sync);
    sync();
  });

  var gated = form.querySelectorAll("[data-gate]");
  var refresh = function () {
    gated.forEach(function (item) {
      var chosen = form.querySelector('input[name="' + item.dataset.gate + '"]:checked');
      var asked = chosen !== null && chosen.value === item.dataset.gateAnswer;
      // Unknown gate (not answered yet): keep the item visible so nothing is skipped silently.
      item.hidden = chosen !== null && !asked;
      if (item.hidden) {
        item.querySelectorAll("input").forEach(function (input) { input.checked = false; });
      }
    });
  };
  form.addEventListener("change", refresh);
  refresh();
})();
