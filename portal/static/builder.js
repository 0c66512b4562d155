/* The form builder's pages. A form with `data-confirm` asks before it is sent. On the field
 * form, expressions are checked as they are typed, with the same
 * checker the server uses (FormExpressions.check, the twin of forms.expressions.check),
 * against the names of the form's fields. The server checks again when the field is saved. */
(function () {
  "use strict";

  function setup(container) {
    var known = JSON.parse(container.dataset.fieldNames || "[]");
    var language = document.documentElement.lang === "en" ? "en" : "zh";
    var nameInput = container.querySelector('input[name="name"]');

    function feedbackFor(input) {
      var box = input.parentNode.querySelector(".expression-feedback");
      if (!box) {
        box = document.createElement("div");
        box.className = "invalid-feedback expression-feedback";
        input.insertAdjacentElement("afterend", box);
      }
      return box;
    }

    function check(input) {
      var names = known.slice();
      if (nameInput && nameInput.value.trim()) names.push(nameInput.value.trim());
      var text = input.value;
      var errors = text.trim() ? window.FormExpressions.check(text, names, true, language) : [];
      var box = feedbackFor(input);
      if (errors.length) {
        input.classList.add("is-invalid");
        input.setAttribute("aria-invalid", "true");
        box.textContent = errors[0].message;
        box.style.display = "block";
      } else {
        input.classList.remove("is-invalid");
        input.removeAttribute("aria-invalid");
        box.textContent = "";
        box.style.display = "none";
      }
    }

    var inputs = container.querySelectorAll("input[data-expression]");
    inputs.forEach(function (input) {
      input.addEventListener("input", function () { check(input); });
    });
    if (nameInput) {
      nameInput.addEventListener("input", function () {
        inputs.forEach(function (input) { if (input.value.trim()) check(input); });
      });
    }
  }

  document.querySelectorAll("[data-field-names]").forEach(setup);
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
})();
