/* The form builder's pages. A form with `data-confirm` asks before it is sent.
 *
 * The field form: expressions are checked as they are typed, with the same checker the server
 * uses (FormExpressions.check, the twin of forms.expressions.check), against the names of the
 * form's fields; the inputs that apply to some field types only (`data-conditional`,
 * {input name: [types]}) are shown for those types and hidden for the others, keeping what
 * was typed in them. The server checks everything again when the field is saved.
 *
 * The form's page: fields are dragged by their handle (HTML5 drag and drop) onto the upper or
 * lower half of another field (before or after it), onto a group or repeat (into it, at the
 * end), or onto the end of the list; the drop sends #move-form, the same request as the
 * "move to" list and the up/down buttons, which work without scripts. */
(function () {
  "use strict";

  // -- the field form ------------------------------------------------------------------------
  function setupExpressions(container) {
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

  function setupConditional(container) {
    var conditional = JSON.parse(container.dataset.conditional || "{}");
    var typeSelect = container.querySelector('select[name="type"]');
    if (!typeSelect) return;

    function show() {
      var type = typeSelect.value;
      Object.keys(conditional).forEach(function (name) {
        var input = container.querySelector('[name="' + name + '"]');
        var item = input && input.closest('[id^="item-"]');
        if (item) item.classList.toggle("d-none", conditional[name].indexOf(type) < 0);
      });
    }
    typeSelect.addEventListener("change", show);
    show();
  }

  document.querySelectorAll("[data-field-names]").forEach(function (container) {
    setupExpressions(container);
    setupConditional(container);
  });

  // -- reordering by drag and drop -------------------------------------------------------------
  function setupReorder(table, form) {
    var rows = Array.prototype.slice.call(table.querySelectorAll("tr[data-field]"));
    var end = document.getElementById("drop-end");
    var dragged = null;

    function path(row) {
      return row.dataset.path ? row.dataset.path.split(" ") : [];
    }

    function clear() {
      table.querySelectorAll(".drop-before, .drop-after, .drop-into").forEach(function (el) {
        el.classList.remove("drop-before", "drop-after", "drop-into");
      });
    }

    // Where a drop on `row` at the pointer puts the dragged field: before, after or into
    // it; null where it cannot go (onto itself, or into itself).
    function placeFor(row, event) {
      if (!dragged || row === dragged) return null;
      if (path(row).indexOf(dragged.dataset.field) >= 0) return null;
      var box = row.getBoundingClientRect();
      var y = (event.clientY - box.top) / box.height;
      if (row.dataset.container) return y < 0.3 ? "before" : "into";
      return y < 0.5 ? "before" : "after";
    }

    // The field after `row` among its siblings, "" if it is the last.
    function nextSibling(row) {
      var depth = path(row).length;
      for (var i = rows.indexOf(row) + 1; i < rows.length; i++) {
        var other = path(rows[i]).length;
        if (other < depth) break;
        if (other === depth) return rows[i].dataset.field;
      }
      return "";
    }

    function send(parent, before) {
      form.elements.field.value = dragged.dataset.field;
      form.elements.parent.value = parent;
      form.elements.before.value = before;
      form.submit();
    }

    rows.forEach(function (row) {
      // Only the handle drags the row: its link, buttons and list keep their own ways.
      var handle = row.querySelector(".drag-handle");
      if (!handle) return;
      handle.classList.remove("d-none");
      handle.addEventListener("mousedown", function () { row.draggable = true; });
      handle.addEventListener("mouseup", function () { row.draggable = false; });
      row.addEventListener("dragstart", function (event) {
        if (event.target !== row) return;
        dragged = row;
        row.classList.add("dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", row.dataset.field);
        end.classList.remove("d-none");
      });
      row.addEventListener("dragend", function () {
        row.draggable = false;
        row.classList.remove("dragging");
        end.classList.add("d-none");
        clear();
        dragged = null;
      });
      row.addEventListener("dragover", function (event) {
        var place = placeFor(row, event);
        clear();
        if (!place) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = "move";
        row.classList.add("drop-" + place);
      });
      row.addEventListener("dragleave", function (event) {
        if (!row.contains(event.relatedTarget)) {
          row.classList.remove("drop-before", "drop-after", "drop-into");
        }
      });
      row.addEventListener("drop", function (event) {
        var place = placeFor(row, event);
        if (!place) return;
        event.preventDefault();
        if (place === "into") send(row.dataset.field, "");
        else if (place === "before") send(row.dataset.parent, row.dataset.field);
        else send(row.dataset.parent, nextSibling(row));
      });
    });
    end.addEventListener("dragover", function (event) {
      if (!dragged) return;
      clear();
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      end.classList.add("drop-into");
    });
    end.addEventListener("drop", function (event) {
      if (!dragged) return;
      event.preventDefault();
      send("", "");
    });
    var help = document.getElementById("drag-help");
    if (help && rows.length > 1) help.classList.remove("d-none");
  }

  var fields = document.getElementById("fields");
  var moveForm = document.getElementById("move-form");
  if (fields && moveForm && "draggable" in document.createElement("tr")) {
    setupReorder(fields, moveForm);
  }

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
})();
