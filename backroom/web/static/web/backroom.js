// Keyboard use for the counter screens.
// - A button or link with data-key="F9" is pressed by that key; the key is shown on it.
// - A table row with data-href opens that address on Enter or a click.
// - After htmx swaps content in, the element marked autofocus gets the focus.
// - On the receiving screen, a SKU or barcode typed in the scan field adds one unit to its line.
(function () {
  "use strict";

  function visible(element) {
    return element.offsetParent !== null && !element.disabled;
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    var candidates = document.querySelectorAll('[data-key="' + event.key + '"]');
    for (var i = 0; i < candidates.length; i++) {
      if (visible(candidates[i])) {
        event.preventDefault();
        if (candidates[i].matches("input, select, textarea")) {
          candidates[i].focus();
          candidates[i].select && candidates[i].select();
        } else {
          candidates[i].click();
        }
        return;
      }
    }
    var row = event.target.closest && event.target.closest("tr[data-href]");
    if (row && event.key === "Enter" && event.target === row) {
      window.location.href = row.dataset.href;
    }
  });

  document.addEventListener("click", function (event) {
    var row = event.target.closest("tr[data-href]");
    if (row && !event.target.closest("a, button, input, select, label")) {
      window.location.href = row.dataset.href;
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.elt.querySelector("[autofocus]");
    if (target) {
      target.focus();
    }
  });

  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key !== "Enter" || !field.matches("[data-scan-into]")) {
      return;
    }
    event.preventDefault();
    var code = field.value.trim().toLowerCase();
    var message = document.getElementById(field.dataset.scanMessage);
    var inputs = document.querySelectorAll(field.dataset.scanInto);
    for (var i = 0; i < inputs.length; i++) {
      var codes = (inputs[i].dataset.codes || "").toLowerCase().split(" ");
      if (codes.indexOf(code) !== -1) {
        inputs[i].value = String((parseInt(inputs[i].value, 10) || 0) + 1);
        inputs[i].dispatchEvent(new Event("input", { bubbles: true }));
        message.textContent = "Added 1 × " + inputs[i].dataset.label + ".";
        field.value = "";
        return;
      }
    }
    message.textContent = "No line of this purchase order has SKU or barcode '" + field.value + "'.";
  });
})();
