/* The live side of a form rendered by forms/deform_builder.py: skip logic, calculations,
 * checks and exclusive options, as staff type. Plain JavaScript, no build; needs
 * window.FormExpressions (expressions.js, the twin of forms/expressions.py).
 *
 * The server (forms.validation.FormValidator) decides; this only mirrors it so that people
 * see at once what it would say. Values follow the API's conventions, as validation.py reads
 * them: numbers as numbers, booleans as booleans, dates as ISO strings, select_multiple as
 * lists of codes, a repeat as a list of objects; empty values are left out.
 *
 * The page: every field's item (`.form-item`) holds controls carrying `data-field`,
 * `data-type` and, when set, `data-relevant`, `data-calculation`, `data-constraint`,
 * `data-constraint-msg`, `data-required`, `data-required-if`, `data-min`, `data-max`,
 * `data-decimals`, `data-exclusive` and `data-messages` (the server's texts, JSON). Groups
 * (`fieldset.form-section`), repeats (`.form-repeat`) and notes carry them on the item.
 * Inside an entry of a repeat (deform's `.deform-seq-item`), a name means the field of that
 * entry, over the form's fields.
 *
 * window.FormRuntime = {attach(form), update(form), data(form), check(form)}
 * Forms with the class `form-runtime` are attached when the page has loaded.
 */
(function (global) {
  "use strict";

  var FE = global.FormExpressions;
  // deform's structure markers and hidden bookkeeping, which are never a field's value.
  var MARKERS = { __start__: 1, __end__: 1, _charset_: 1, __formid__: 1 };
  // What a number input may hold: the pattern forms/deform_builder.py parses with.
  var NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
  var MAX_PASSES = 50;
  var CHOOSING = /^(radio|checkbox|select-one|file)$/;
  var states = new WeakMap();
  var compiled = new Map();

  // -- the page's fields -----------------------------------------------------------------
  function itemOf(el) {
    return el.classList.contains("form-item") ? el : el.closest(".form-item");
  }

  function Field(form, item, el) {
    var d = el.dataset;
    this.item = item;
    this.name = d.field;
    this.type = d.type;
    this.data = d;
    this.scope = item.closest(".deform-seq-item") || form;
    if (!form.contains(this.scope)) this.scope = form;
    this.controls = []; // the elements carrying data-field (several for radios, checkboxes)
    this.messages = d.messages ? JSON.parse(d.messages) : null;
    this.shown = true;
    this.computed = null;
  }

  Field.prototype.holdsValue = function () {
    return this.type !== "group" && this.type !== "note";
  };

  // Every value control of the field (a file's uid included), never a nested field's.
  Field.prototype.inputs = function () {
    var item = this.item;
    return Array.prototype.filter.call(
      item.querySelectorAll("input, select, textarea"),
      function (c) {
        return !MARKERS[c.name] && c.type !== "button" && c.type !== "submit" && itemOf(c) === item;
      }
    );
  };

  function scan(form) {
    var fields = [];
    var byItem = new Map();
    form.querySelectorAll("[data-field]").forEach(function (el) {
      var item = itemOf(el);
      if (!item) return;
      var field = byItem.get(item);
      if (!field) {
        field = new Field(form, item, el);
        byItem.set(item, field);
        fields.push(field);
      }
      if (el !== item) field.controls.push(el);
    });
    fields.forEach(function (field) {
      var above = field.item.parentElement;
      var up = above && above.closest(".form-section, .form-repeat");
      field.parent = up && form.contains(up) ? byItem.get(up) || null : null;
    });
    return { form: form, fields: fields, byItem: byItem };
  }

  // -- values ----------------------------------------------------------------------------
  function readNumber(control) {
    if (control.validity && control.validity.badInput) return { bad: true, value: null };
    var text = String(control.value).normalize("NFKC").trim();
    if (!text) return { bad: false, value: null };
    if (!NUMBER_RE.test(text)) return { bad: true, value: null };
    var n = Number(text);
    return isFinite(n) ? { bad: false, value: n } : { bad: true, value: null };
  }

  function checked(controls) {
    return controls.filter(function (c) {
      return c.checked;
    });
  }

  // The field's value as typed, in the API's form; {bad: true} when a number can't be read.
  function read(field) {
    var controls = field.controls;
    var first = controls[0];
    switch (field.type) {
      case "group":
      case "note":
      case "repeat":
        return { value: null };
      case "select_multiple":
        if (first && first.type === "checkbox") {
          return { value: checked(controls).map(function (c) { return c.value; }) };
        }
        break;
      case "select_one":
      case "boolean":
        if (first && first.type === "radio") {
          var chosen = checked(controls)[0];
          if (!chosen) return { value: null };
          if (field.type === "boolean") return { value: chosen.value === "true" };
          return { value: chosen.value };
        }
        break;
      case "integer":
      case "decimal":
        if (first && !field.data.calculation) return readNumber(first);
        break;
      case "file":
      case "image":
        if (!first) return { value: null };
        if (first.files && first.files.length) return { value: first.files[0].name };
        var uid = field.inputs().filter(function (c) { return c.name === "uid"; })[0];
        return { value: uid && uid.value ? first.dataset.filename || uid.value : null };
    }
    if (!first) return { value: null };
    var text = first.value;
    return { value: text.trim() ? text : null };
  }

  function valueOf(field) {
    if (field.data.calculation) return field.computed;
    var v = read(field).value;
    return FE.isEmpty(v) ? null : v;
  }

  function entriesOf(repeat) {
    var all = repeat.item.querySelectorAll(".deform-seq-item");
    return Array.prototype.filter.call(all, function (entry) {
      return entry.parentElement.closest(".form-repeat") === repeat.item;
    });
  }

  // The values of one object of the data (the form, or an entry of a repeat).
  function ownValues(state, scope) {
    var values = {};
    state.fields.forEach(function (field) {
      if (field.scope !== scope || !field.shown || !field.holdsValue()) return;
      var v;
      if (field.type === "repeat") {
        v = entriesOf(field).map(function (entry) { return ownValues(state, entry); });
        if (!v.length) v = null;
      } else {
        v = valueOf(field);
      }
      if (v !== null && !FE.isEmpty(v)) values[field.name] = v;
    });
    return values;
  }

  function contexts(state) {
    var cache = new Map();
    function contextOf(scope) {
      if (cache.has(scope)) return cache.get(scope);
      var outer = {};
      if (scope !== state.form) {
        outer = contextOf(scope.parentElement.closest(".deform-seq-item") || state.form);
      }
      var context = Object.assign({}, outer, ownValues(state, scope));
      cache.set(scope, context);
      return context;
    }
    return contextOf;
  }

  function evaluate(text, values, current) {
    try {
      var expression = compiled.get(text);
      if (!expression) {
        expression = FE.parse(text);
        compiled.set(text, expression);
      }
      return expression.evaluate(values, current);
    } catch (error) {
      // The server checked every expression before publishing; a broken one means "empty".
      return null;
    }
  }

  // Python's round(x, places): the exact binary value, ties to even.
  function roundHalfEven(x, places) {
    var a = Math.abs(x);
    if (!(a < 1e21)) return x;
    var full = a.toFixed(Math.min(100, places + 30));
    var point = full.indexOf(".");
    var rest = full.slice(point + 1 + places);
    var rounded = Number(a.toFixed(places));
    if (/^50*$/.test(rest)) {
      var kept = full.slice(0, point + (places ? 1 + places : 0));
      if (Number(kept.slice(-1)) % 2 === 0) rounded = Number(kept);
    }
    return x < 0 ? -rounded : rounded;
  }

  var DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
  var DATETIME_RE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$/;

  // A calculation's result as a value of the field's type, or null: validation.py's
  // _from_calculation.
  function fromCalculation(field, r) {
    if (r === null || r === undefined || FE.isEmpty(r)) return null;
    if (typeof r === "number" && !isFinite(r)) return null;
    var type = field.type;
    if (type === "calculate") return r;
    if (type === "integer" || type === "decimal") {
      if (typeof r !== "number") return null;
      if (type === "integer") return roundHalfEven(r, 0);
      var decimals = field.data.decimals;
      return decimals === undefined ? r : roundHalfEven(r, Number(decimals));
    }
    if (type === "boolean") return typeof r === "boolean" ? r : null;
    if (type === "select_multiple") return Array.isArray(r) ? r : null;
    if (Array.isArray(r)) r = r.join(" ");
    if (typeof r !== "string") r = String(r);
    if (type === "date") return DATE_RE.test(r) ? r : null;
    if (type === "datetime") return DATETIME_RE.test(r) ? r : null;
    return r;
  }

  function display(v) {
    if (v === null || v === undefined) return "";
    if (Array.isArray(v)) return v.join(" ");
    return String(v);
  }

  function same(a, b) {
    return JSON.stringify(a) === JSON.stringify(b);
  }

  // -- skip logic and calculations --------------------------------------------------------
  function update(state) {
    var fields = state.fields;
    var contextOf;
    // Until nothing changes: each field after what it depends on, whatever their order.
    for (var pass = 0; pass < MAX_PASSES; pass++) {
      var changed = false;
      contextOf = contexts(state);
      fields.forEach(function (field) {
        var context = contextOf(field.scope);
        var shown = field.parent ? field.parent.shown : true;
        if (shown && field.data.relevant) shown = FE.truthy(evaluate(field.data.relevant, context));
        if (shown !== field.shown) {
          field.shown = shown;
          changed = true;
        }
        if (field.data.calculation) {
          var v = shown ? fromCalculation(field, evaluate(field.data.calculation, context)) : null;
          if (!same(v, field.computed)) {
            field.computed = v;
            changed = true;
          }
        }
      });
      if (!changed) break;
    }
    contextOf = contexts(state);
    fields.forEach(function (field) {
      field.item.hidden = !field.shown;
      field.item.classList.toggle("form-hidden", !field.shown);
      field.inputs().forEach(function (control) {
        setDisabled(control, !field.shown);
      });
      if (field.data.calculation) {
        field.controls.forEach(function (control) {
          if (control.value !== display(field.computed)) control.value = display(field.computed);
        });
      }
      field.required = field.shown && isRequired(field, contextOf(field.scope));
      field.item.classList.toggle("form-required", field.required);
      // A message shown by this script follows the values it depends on; the server's stays
      // until its field is changed.
      if (!field.shown) clearMessage(field);
      else if (field.showing === "leave" || field.showing === "submit") {
        var whole = field.showing === "submit";
        show(field, problem(field, contextOf(field.scope), whole), field.showing);
      }
    });
    return state;
  }

  // Hidden fields are disabled so the browser does not send them; what was typed stays in the
  // page, and comes back when the field is shown again.
  function setDisabled(control, off) {
    if (off && !control.disabled) {
      control.disabled = true;
      control.dataset.runtimeDisabled = "1";
    } else if (!off && control.dataset.runtimeDisabled) {
      control.disabled = false;
      delete control.dataset.runtimeDisabled;
    }
  }

  function isRequired(field, context) {
    if (field.data.required === "true") return true;
    return !!field.data.requiredIf && FE.truthy(evaluate(field.data.requiredIf, context));
  }

  // -- checks ------------------------------------------------------------------------------
  function decimalPlaces(n) {
    var m = /^-?\d*(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(n));
    if (!m) return 0;
    return Math.max(0, (m[1] ? m[1].length : 0) - (m[2] ? Number(m[2]) : 0));
  }

  // What the server would say about the field's value, or null; `whole` adds required.
  function problem(field, context, whole) {
    var m = field.messages;
    if (!m || !field.shown || field.data.calculation) return null;
    var typed = read(field);
    if (typed.bad) return m.not_number;
    var v = typed.value;
    if (v === null || FE.isEmpty(v)) return whole && field.required ? m.required : null;
    if (field.type === "integer" || field.type === "decimal") {
      if (field.type === "integer" && !Number.isInteger(v)) return m.not_number;
      if (field.data.min !== undefined && v < Number(field.data.min)) return m.too_small;
      if (field.data.max !== undefined && v > Number(field.data.max)) return m.too_large;
      if (field.data.decimals !== undefined && decimalPlaces(v) > Number(field.data.decimals)) {
        return m.too_many_decimals;
      }
    }
    if (field.data.constraint && !FE.truthy(evaluate(field.data.constraint, context, v))) {
      return field.data.constraintMsg;
    }
    return null;
  }

  function clearMessage(field) {
    field.showing = null;
    var item = field.item;
    item.querySelectorAll(":scope > .invalid-feedback").forEach(function (p) {
      p.remove();
    });
    field.inputs().forEach(function (c) {
      c.classList.remove("is-invalid");
    });
    var group = item.querySelector(":scope > div.is-invalid");
    if (group) group.classList.remove("is-invalid");
  }

  // Show a message at the field (none: clear it); `mode` says when it was asked for.
  function show(field, message, mode) {
    clearMessage(field);
    if (!message) return;
    field.showing = mode;
    var p = document.createElement("p");
    p.className = "invalid-feedback form-runtime-error";
    p.textContent = message;
    var hint = field.item.querySelector(":scope > .form-text");
    field.item.insertBefore(p, hint);
    field.inputs().forEach(function (c) {
      if (c.type !== "hidden") c.classList.add("is-invalid");
    });
  }

  function checkField(state, field, whole) {
    var message = problem(field, contexts(state)(field.scope), whole);
    show(field, message, whole || field.showing === "submit" ? "submit" : "leave");
    return message;
  }

  // Check every shown field as the server will; show the messages; the fields with problems.
  function checkAll(state) {
    update(state);
    return state.fields.filter(function (field) {
      return checkField(state, field, true);
    });
  }

  // -- exclusive options -------------------------------------------------------------------
  // Checking an option that excludes the others clears them; checking another clears it.
  function exclusive(state, box) {
    if (!box.checked || box.type !== "checkbox" || box.dataset.exclusive === undefined) return;
    var codes = box.dataset.exclusive.split(" ");
    var field = fieldOf(state, box);
    var alone = codes.indexOf(box.value) >= 0;
    field.controls.forEach(function (other) {
      if (other !== box && (alone || codes.indexOf(other.value) >= 0)) other.checked = false;
    });
  }

  // -- wiring ------------------------------------------------------------------------------
  function fieldOf(state, target) {
    var item = target && target.closest && itemOf(target);
    return item ? state.byItem.get(item) : undefined;
  }

  function attach(form) {
    if (states.has(form)) return states.get(form);
    var state = scan(form);
    states.set(form, state);
    // The server's messages stay until the field is changed.
    state.fields.forEach(function (field) {
      if (field.item.querySelector(":scope > .invalid-feedback")) field.showing = "server";
    });

    // Browsers ignore `readonly` on checkboxes (deform disables the other options of a
    // read-only radio group or select): a read-only one keeps its state, clicked or keyed.
    form.addEventListener("click", function (event) {
      var target = event.target;
      if (target.type === "checkbox" && target.hasAttribute("readonly")) event.preventDefault();
    });
    form.addEventListener("change", function (event) {
      exclusive(state, event.target);
      update(state);
      // Choosing is done at once; typing is checked when the field is left (focusout).
      var field = fieldOf(state, event.target);
      if (field && CHOOSING.test(event.target.type)) checkField(state, field, false);
    });
    form.addEventListener("input", function (event) {
      update(state);
      var field = fieldOf(state, event.target);
      if (field && field.showing) checkField(state, field, false);
    });
    form.addEventListener("focusout", function (event) {
      var field = fieldOf(state, event.target);
      if (!field || !field.messages) return;
      // Leaving one radio for another of the same field is not leaving the field.
      if (event.relatedTarget && fieldOf(state, event.relatedTarget) === field) return;
      checkField(state, field, false);
    });
    form.addEventListener("submit", function (event) {
      var wrong = checkAll(state);
      var anyway = event.submitter && event.submitter.hasAttribute("formnovalidate");
      if (!wrong.length || anyway) return;
      event.preventDefault();
      var control = wrong[0].inputs().filter(function (c) { return c.type !== "hidden"; })[0];
      if (control) control.focus();
      wrong[0].item.scrollIntoView({ block: "center" });
    });
    // deform adds and removes the entries of repeats: look again when it does.
    new MutationObserver(function (records) {
      var entries = records.some(function (record) {
        var some = Array.prototype.some;
        return some.call(record.addedNodes, isEntry) || some.call(record.removedNodes, isEntry);
      });
      if (entries) rescan(state);
    }).observe(form, { childList: true, subtree: true });
    return update(state);
  }

  function isEntry(node) {
    if (node.nodeType !== 1) return false;
    return node.classList.contains("deform-seq-item") || !!node.querySelector("[data-field]");
  }

  function rescan(state) {
    var old = state.byItem;
    var fresh = scan(state.form);
    fresh.fields.forEach(function (field) {
      var before = old.get(field.item);
      if (before) {
        field.shown = before.shown;
        field.computed = before.computed;
        field.showing = before.showing;
      }
    });
    state.fields = fresh.fields;
    state.byItem = fresh.byItem;
    update(state);
  }

  function stateOf(form) {
    return states.get(form) || attach(form);
  }

  global.FormRuntime = {
    attach: attach,
    update: function (form) {
      return update(stateOf(form));
    },
    // The data the server will keep, as far as the browser can tell: shown fields only,
    // calculations computed, repeats as lists of objects.
    data: function (form) {
      var state = update(stateOf(form));
      return ownValues(state, form);
    },
    // Check every field now, as on submit; the names of those with a problem.
    check: function (form) {
      return checkAll(stateOf(form)).map(function (field) {
        return field.name;
      });
    },
  };

  function attachAll() {
    document.querySelectorAll("form.form-runtime").forEach(attach);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", attachAll);
  else attachAll();
})(window);
