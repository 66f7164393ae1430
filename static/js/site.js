// Runs before the page paints: lets the stylesheet hide the buttons that only
// matter without JavaScript (such as "Save" under the star widget).
document.documentElement.classList.replace("no-js", "js");

// The star widget's keys (templates/movies/_rating_widget.html). The radios run highest first in
// the page (so CSS can light the stars left of the chosen one), which made the browser's own arrow
// keys run backwards and save at every press. Here the arrows only move a preview, right and up
// for more stars, and Enter or Space saves the previewed value.
(function () {
  function radios(fieldset) {
    return Array.prototype.slice.call(fieldset.querySelectorAll("input[type=radio]")).reverse(); // lowest first
  }

  function preview(fieldset, input) {
    fieldset.classList.add("previewing");
    var lit = true;
    radios(fieldset).forEach(function (radio) {
      var label = fieldset.querySelector("label[for='" + radio.id + "']");
      if (label) label.classList.toggle("lit", lit);
      if (radio === input) lit = false;
    });
    fieldset.dataset.preview = input.value;
    input.focus();
  }

  function clearPreview(fieldset) {
    fieldset.classList.remove("previewing");
    delete fieldset.dataset.preview;
  }

  function save(fieldset, input) {
    clearPreview(fieldset);
    if (input.checked) return;
    input.checked = true;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.closest(".stars")) return;
    var fieldset = input.closest(".stars");
    var list = radios(fieldset);
    var current = list.indexOf(input);
    var step = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 }[event.key];
    if (step) {
      event.preventDefault();
      var next = list[Math.min(list.length - 1, Math.max(0, current + step))];
      preview(fieldset, next);
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      preview(fieldset, event.key === "Home" ? list[0] : list[list.length - 1]);
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault(); // Enter would post the whole form and leave the page
      save(fieldset, input);
    } else if (event.key === "Escape") {
      clearPreview(fieldset);
    }
  });

  // Leaving the stars without saving drops the preview.
  document.addEventListener("focusout", function (event) {
    var fieldset = event.target instanceof Element && event.target.closest(".stars");
    if (fieldset && !fieldset.contains(event.relatedTarget)) clearPreview(fieldset);
  });

  // Sections cached for everybody (similar movies) show stars unset; the page lists the person's own
  // stars for them in a JSON block, set here.
  document.addEventListener("DOMContentLoaded", function () {
    var data = document.getElementById("my-stars");
    if (!data) return;
    var mine = JSON.parse(data.textContent || "{}");
    Object.keys(mine).forEach(function (movieId) {
      document.querySelectorAll(".rating[data-movie='" + movieId + "']:not([data-mine])").forEach(function (widget) {
        widget.querySelectorAll("input[type=radio]").forEach(function (radio) {
          radio.checked = parseFloat(radio.value) === mine[movieId];
        });
        var status = widget.querySelector(".rating-status");
        if (status) status.textContent = "You: " + mine[movieId] + (mine[movieId] === 1 ? " star" : " stars");
      });
    });
  });
})();

// Copy buttons (the new API token): shown only where the browser lets a page write the clipboard.
document.addEventListener("DOMContentLoaded", function () {
  if (!navigator.clipboard || !window.isSecureContext) return;
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.dataset.copy);
      var status = button.closest("section") && button.closest("section").querySelector(".copy-status");
      navigator.clipboard.writeText(source.textContent.trim()).then(
        function () {
          button.textContent = "Copied";
          if (status) status.textContent = "The token is on your clipboard.";
        },
        function () {
          if (status) status.textContent = "Copying was refused: select the token and copy it by hand.";
        }
      );
    });
  });
});
