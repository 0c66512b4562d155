/* The form expression language in the browser: the twin of forms/expressions.py.
 *
 * Same syntax, same semantics, same error codes and positions (see the docstring of
 * forms/expressions.py, which is the specification); both are held to the shared vectors in
 * tests/unit/forms/expression_vectors.json. Positions count Unicode code points, as Python
 * does, so texts are handled as arrays of code points here.
 *
 * window.FormExpressions = {parse, evaluate, references, check, truthy, isEmpty,
 *                           ExpressionError, MESSAGES, MAX_DEPTH}
 *   parse(text) -> Expression {text, references(), usesCurrent, evaluate(values, current,
 *     today), test(...)}; throws ExpressionError {code, pos, params, render(lang), asDict()}
 *   evaluate(textOrExpression, values, current, today), references(textOrExpression)
 *   check(text, knownFields, allowCurrent = true, language = "en") -> [{code, pos, ..., message}]
 * Values are those of the API's `data` (numbers, booleans, ISO date strings, lists of codes);
 * `today` is a "YYYY-MM-DD" string, by default the browser's local date.
 */
(function (global) {
  "use strict";

  var MAX_DEPTH = 100;

  // code -> [English, Chinese]; keep in step with MESSAGES in forms/expressions.py.
  var MESSAGES = {
    empty_expression: ["The expression is empty", "表达式为空"],
    unexpected_character: [
      "Unexpected character '${text}' at character ${column}",
      "第 ${column} 个字符“${text}”无法识别",
    ],
    unterminated_string: [
      "The text starting at character ${column} has no closing quote",
      "从第 ${column} 个字符开始的文字缺少结束引号",
    ],
    bad_reference: [
      "Bad field reference '${text}' at character ${column}: write ${field_name}, starting " +
        "with a letter or _",
      "第 ${column} 个字符处的字段引用“${text}”无效：应写作 ${field_name}，以字母或 _ 开头",
    ],
    unexpected_token: [
      "Unexpected '${text}' at character ${column}",
      "第 ${column} 个字符处不应出现“${text}”",
    ],
    unexpected_end: [
      "The expression is incomplete at character ${column}",
      "表达式在第 ${column} 个字符处不完整",
    ],
    unclosed_paren: [
      "The '(' at character ${column} is never closed",
      "第 ${column} 个字符处的“(”缺少对应的“)”",
    ],
    unknown_function: [
      "Unknown function '${name}' at character ${column}",
      "第 ${column} 个字符处的函数“${name}”不存在",
    ],
    wrong_arity: [
      "${name}() takes ${expected} argument(s), not ${got} (character ${column})",
      "${name}() 需要 ${expected} 个参数，而不是 ${got} 个（第 ${column} 个字符）",
    ],
    bare_name: [
      "'${name}' at character ${column} is not a value: write ${${name}} for a field or " +
        "${name}() for a function",
      "第 ${column} 个字符处的“${name}”不是值：字段应写作 ${${name}}，函数应写作 ${name}()",
    ],
    too_deep: [
      "The expression is nested more than ${max} levels deep at character ${column}",
      "表达式在第 ${column} 个字符处嵌套超过 ${max} 层",
    ],
    bad_regex: [
      "The regular expression at character ${column} is not supported: ${explanation} " +
        "(at character ${pattern_column} of the pattern)",
      "第 ${column} 个字符处的正则表达式不受支持：${explanation}" +
        "（模式的第 ${pattern_column} 个字符）",
    ],
    unknown_field: [
      "Unknown field '${name}' at character ${column}",
      "第 ${column} 个字符处引用的字段“${name}”不存在",
    ],
    current_not_allowed: [
      "'.' at character ${column} (the field's own value) can only be used in a constraint",
      "第 ${column} 个字符处的“.”（本字段的值）只能用于约束条件",
    ],
  };

  var REGEX_REASONS = {
    trailing_backslash: ["it ends with a lone backslash", "以单独的反斜杠结尾"],
    unsupported_escape: ["this escape is not supported", "不支持此转义"],
    unsupported_group: ["lookaround and named groups are not supported", "不支持环视和命名分组"],
    unclosed_group: ["a '(' is never closed", "“(”缺少对应的“)”"],
    unbalanced_paren: ["a ')' has no matching '('", "“)”缺少对应的“(”"],
    nothing_to_repeat: ["a repetition has nothing to repeat", "重复符号前没有可重复的内容"],
    bad_repeat: [
      "write a repetition as {n}, {n,} or {n,m} with n <= m <= 1000",
      "重复次数应写作 {n}、{n,} 或 {n,m}，且 n <= m <= 1000",
    ],
    unclosed_class: ["a '[' is never closed", "“[”缺少对应的“]”"],
    empty_class: ["an empty class [] matches nothing", "空字符类 [] 不匹配任何字符"],
    bad_range: [
      "a range in a class is reversed or uses a class shorthand",
      "字符类中的范围颠倒或使用了类简写",
    ],
    too_large: ["the pattern is too large", "模式过大"],
  };
  var LANGUAGES = ["en", "zh"];

  function format(template, params) {
    // Only known parameters are replaced: `${field_name}` in a message stays as written.
    return template.replace(/\$\{([a-z_]+)\}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(params, key) ? String(params[key]) : whole;
    });
  }

  function ExpressionError(code, pos, params) {
    this.name = "ExpressionError";
    this.code = code;
    this.pos = pos;
    this.params = params || {};
    this.message = this.render("en");
  }
  ExpressionError.prototype = Object.create(Error.prototype);
  ExpressionError.prototype.constructor = ExpressionError;
  ExpressionError.prototype.render = function (language) {
    var index = LANGUAGES.indexOf(language);
    if (index < 0) index = 0;
    var params = { pos: this.pos, column: this.pos + 1 };
    Object.keys(this.params).forEach(function (k) {
      params[k] = this.params[k];
    }, this);
    if (this.code === "bad_regex") {
      params.explanation = REGEX_REASONS[this.params.reason][index];
      params.pattern_column = this.params.at + 1;
    }
    return format(MESSAGES[this.code][index], params);
  };
  ExpressionError.prototype.asDict = function (language) {
    var result = { code: this.code, pos: this.pos };
    Object.keys(this.params).forEach(function (k) {
      result[k] = this.params[k];
    }, this);
    result.message = this.render(language || "en");
    return result;
  };

  function fail(code, pos, params) {
    throw new ExpressionError(code, pos, params);
  }

  // -- tokens -----------------------------------------------------------------------------
  var BLANKS = " \t\n\r\u00a0\u3000";
  var DIGITS = "0123456789";
  var KEYWORD_OPS = ["and", "or", "div", "mod"];
  var FIELD_NAME_RE = /^[A-Za-z_][A-Za-z0-9_.\-]*$/;

  function isLetter(c) {
    return c !== undefined && /^[A-Za-z]$/.test(c);
  }
  function isNameChar(c) {
    return c !== undefined && /^[A-Za-z0-9_]$/.test(c);
  }
  function isDigit(c) {
    return c !== undefined && c.length === 1 && DIGITS.indexOf(c) >= 0;
  }
  function startsWith(chars, i, s) {
    for (var k = 0; k < s.length; k++) if (chars[i + k] !== s[k]) return false;
    return true;
  }

  function token(kind, value, pos, text) {
    return { kind: kind, value: value, pos: pos, text: text };
  }

  function tokenize(text) {
    var chars = Array.from(text);
    var tokens = [];
    var i = 0;
    var n = chars.length;
    function slice(a, b) {
      return chars.slice(a, b).join("");
    }
    while (i < n) {
      var c = chars[i];
      if (BLANKS.indexOf(c) >= 0) {
        i += 1;
        continue;
      }
      var start = i;
      if (isDigit(c) || (c === "." && isDigit(chars[i + 1]))) {
        while (isDigit(chars[i])) i += 1;
        if (chars[i] === ".") {
          i += 1;
          while (isDigit(chars[i])) i += 1;
        }
        var literal = slice(start, i);
        tokens.push(token("num", finite(Number(literal)), start, literal));
      } else if (c === ".") {
        i += 1;
        tokens.push(token("dot", null, start, "."));
      } else if (c === "'" || c === '"') {
        var end = chars.indexOf(c, i + 1);
        if (end < 0) fail("unterminated_string", start);
        i = end + 1;
        tokens.push(token("str", slice(start + 1, end), start, slice(start, i)));
      } else if (c === "$") {
        if (chars[i + 1] !== "{") fail("unexpected_character", start, { text: c });
        var close = chars.indexOf("}", i + 2);
        var name = close >= 0 ? slice(i + 2, close) : null;
        if (name === null || !FIELD_NAME_RE.test(name)) {
          fail("bad_reference", start, {
            text: close >= 0 ? slice(start, close + 1) : slice(start, n),
          });
        }
        i = close + 1;
        tokens.push(token("ref", name, start, slice(start, i)));
      } else if (isLetter(c) || c === "_") {
        while (isNameChar(chars[i])) i += 1;
        while (chars[i] === "-" && isLetter(chars[i + 1])) {
          i += 1;
          while (isNameChar(chars[i])) i += 1;
        }
        var word = slice(start, i);
        tokens.push(token(KEYWORD_OPS.indexOf(word) >= 0 ? "op" : "name", word, start, word));
      } else if (
        startsWith(chars, i, "!=") || startsWith(chars, i, "<=") || startsWith(chars, i, ">=")
      ) {
        i += 2;
        tokens.push(token("op", slice(start, i), start, slice(start, i)));
      } else if ("=<>+-*/".indexOf(c) >= 0) {
        i += 1;
        tokens.push(token("op", c, start, c));
      } else if ("(),".indexOf(c) >= 0) {
        i += 1;
        tokens.push(token(c, c, start, c));
      } else {
        fail("unexpected_character", start, { text: c });
      }
    }
    tokens.push(token("end", null, n, ""));
    return tokens;
  }

  // -- values -----------------------------------------------------------------------------
  var NUMBER_VALUE_RE = /^[ \t\n\r]*-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[ \t\n\r]*$/;
  var DATE_RE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
  var DATETIME_RE = new RegExp(
    "^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})" +
      "(?::([0-9]{2})(?:\\.([0-9]+))?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$"
  );
  var MS_PER_DAY = 86400000;
  var MAX_DAYS = 1e8; // far beyond 9999-12-31, and exact for the calendar arithmetic

  function finite(x) {
    return isFinite(x) ? x : null;
  }

  function isEmpty(value) {
    return (
      value === null || value === undefined || value === "" ||
      (Array.isArray(value) && value.length === 0)
    );
  }

  function truthy(value) {
    if (value === null || value === undefined) return false;
    if (typeof value === "boolean") return value;
    if (typeof value === "number") return value !== 0 && !isNaN(value);
    return value.length > 0;
  }

  function floorDiv(a, b) {
    return Math.floor(a / b);
  }

  function daysFromCivil(y, m, d) {
    y -= m <= 2 ? 1 : 0;
    var era = floorDiv(y, 400);
    var yoe = y - era * 400;
    var doy = floorDiv(153 * (m + (m > 2 ? -3 : 9)) + 2, 5) + d - 1;
    var doe = yoe * 365 + floorDiv(yoe, 4) - floorDiv(yoe, 100) + doy;
    return era * 146097 + doe - 719468;
  }

  function civilFromDays(z) {
    z += 719468;
    var era = floorDiv(z, 146097);
    var doe = z - era * 146097;
    var yoe = floorDiv(
      doe - floorDiv(doe, 1460) + floorDiv(doe, 36524) - floorDiv(doe, 146096), 365
    );
    var doy = doe - (365 * yoe + floorDiv(yoe, 4) - floorDiv(yoe, 100));
    var mp = floorDiv(5 * doy + 2, 153);
    var d = doy - floorDiv(153 * mp + 2, 5) + 1;
    var m = mp + (mp < 10 ? 3 : -9);
    return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
  }

  function validDay(y, m, d) {
    if (m < 1 || m > 12) return false;
    var leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
    return d >= 1 && d <= [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
  }

  function dateNumber(s) {
    s = s.replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, "");
    var m = DATE_RE.exec(s);
    if (m) {
      var y0 = +m[1], mo0 = +m[2], d0 = +m[3];
      return validDay(y0, mo0, d0) ? daysFromCivil(y0, mo0, d0) : null;
    }
    m = DATETIME_RE.exec(s);
    if (!m) return null;
    var y = +m[1], mo = +m[2], d = +m[3], hh = +m[4], mi = +m[5];
    var ss = +(m[6] || 0);
    var ms = +((m[7] || "") + "000").slice(0, 3);
    var offset = 0;
    if (m[8] && m[8] !== "Z") {
      var digits = m[8].slice(1).replace(":", "");
      var oh = +digits.slice(0, 2), om = +digits.slice(2);
      if (oh > 23 || om > 59) return null;
      offset = (oh * 60 + om) * (m[8][0] === "-" ? -1 : 1);
    }
    if (!validDay(y, mo, d) || hh > 23 || mi > 59 || ss > 59) return null;
    var total =
      daysFromCivil(y, mo, d) * MS_PER_DAY + ((hh * 60 + mi - offset) * 60 + ss) * 1000 + ms;
    return total / MS_PER_DAY;
  }

  function pad(n, width) {
    var s = String(n);
    while (s.length < width) s = "0" + s;
    return s;
  }

  function formatDate(days) {
    if (Math.abs(days) > MAX_DAYS) return null;
    var ymd = civilFromDays(Math.floor(days));
    if (ymd[0] < 0 || ymd[0] > 9999) return null;
    return pad(ymd[0], 4) + "-" + pad(ymd[1], 2) + "-" + pad(ymd[2], 2);
  }

  function shortestDigits(x) {
    // [digits, p] with x = digits × 10^p, from the shortest round-trip form.
    var parts = x.toExponential().split("e");
    var digits = parts[0].replace(".", "");
    return [digits, +parts[1] - (digits.length - 1)];
  }

  function roundHalfAway(x, places) {
    if (x === 0) return 0;
    var sd = shortestDigits(Math.abs(x));
    var digits = sd[0], p = sd[1];
    var unit = -Math.trunc(places);
    if (p >= unit) return x;
    var drop = unit - p;
    var k = digits.length;
    if (drop > k) return 0;
    var head = digits.slice(0, k - drop) || "0";
    if (digits[k - drop] >= "5") head = (BigInt(head) + 1n).toString();
    var result = Number(head + "e" + unit);
    return x < 0 ? -result : result;
  }

  function value(v) {
    if (v === null || v === undefined) return null;
    if (typeof v === "boolean" || typeof v === "string") return v;
    if (typeof v === "number") return finite(v);
    if (typeof v === "bigint") return finite(Number(v));
    if (Array.isArray(v)) return v.map(item);
    if (typeof v === "object") return null;
    return String(v);
  }

  function item(e) {
    e = value(e);
    return typeof e === "string" ? e : Array.isArray(e) ? "" : toString(e);
  }

  function toString(v) {
    if (v === null) return "";
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "number") return String(v);
    if (Array.isArray(v)) return v.join(" ");
    return v;
  }

  function toNumber(v) {
    if (v === null) return null;
    if (typeof v === "boolean") return v ? 1 : 0;
    if (typeof v === "number") return v;
    if (Array.isArray(v)) v = v.join(" ");
    if (NUMBER_VALUE_RE.test(v)) return finite(Number(v));
    return dateNumber(v);
  }

  function scalar(v) {
    v = Array.isArray(v) ? v.join(" ") : v;
    return v === "" ? null : v;
  }

  function equal(a, b) {
    a = scalar(a);
    b = scalar(b);
    if (a === null || b === null) return a === b;
    if (typeof a === "number" || typeof b === "number") {
      var na = toNumber(a), nb = toNumber(b);
      return na !== null && na === nb;
    }
    if (typeof a === "boolean" && typeof b === "boolean") return a === b;
    if (typeof a === "boolean" || typeof b === "boolean") return toString(a) === toString(b);
    var da = dateNumber(a), db = dateNumber(b);
    if (da !== null && db !== null) return da === db;
    return a === b;
  }

  function relation(op, a, b) {
    var na = toNumber(scalar(a)), nb = toNumber(scalar(b));
    if (na === null || nb === null) return false;
    if (op === "<") return na < nb;
    if (op === "<=") return na <= nb;
    if (op === ">") return na > nb;
    return na >= nb;
  }

  function arithmetic(op, a, b) {
    var na = toNumber(a), nb = toNumber(b);
    if (na === null || nb === null) return null;
    if (op === "+") return finite(na + nb);
    if (op === "-") return finite(na - nb);
    if (op === "*") return finite(na * nb);
    if (nb === 0) return null;
    if (op === "mod") return na % nb;
    return finite(na / nb);
  }

  function result(v) {
    if (typeof v === "number") return v === 0 ? 0 : v;
    if (Array.isArray(v)) return v.slice();
    return v;
  }

  // -- syntax tree: {type, depth, ...}; evaluated by evalNode --------------------------------
  var OR_LEVEL = 1, AND_LEVEL = 2, EQUALITY_LEVEL = 3, RELATION_LEVEL = 4, UNARY_LEVEL = 7;
  var BINARY = {
    or: 1, and: 2, "=": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4,
    "+": 5, "-": 5, "*": 6, "/": 6, div: 6, mod: 6,
  };

  function evalNode(node, ctx) {
    switch (node.type) {
      case "literal":
        return node.value;
      case "ref":
        // Own properties only: `${constructor}` must not find Object.prototype's.
        return value(
          Object.prototype.hasOwnProperty.call(ctx.values, node.name) ? ctx.values[node.name] : null
        );
      case "current":
        return ctx.current;
      case "negate": {
        var n = toNumber(evalNode(node.operand, ctx));
        return n === null ? null : -n;
      }
      case "chain":
        return evalChain(node, ctx);
      default:
        return evalCall(node, ctx);
    }
  }

  function evalChain(node, ctx) {
    var level = node.level, i;
    if (level === OR_LEVEL || level === AND_LEVEL) {
      var stop = level === OR_LEVEL; // `or` stops at the first true side, `and` at a false
      if (truthy(evalNode(node.first, ctx)) === stop) return stop;
      for (i = 0; i < node.rest.length; i++) {
        if (truthy(evalNode(node.rest[i][1], ctx)) === stop) return stop;
      }
      return !stop;
    }
    var acc = evalNode(node.first, ctx);
    for (i = 0; i < node.rest.length; i++) {
      var op = node.rest[i][0];
      var v = evalNode(node.rest[i][1], ctx);
      if (level === EQUALITY_LEVEL) acc = equal(acc, v) === (op === "=");
      else if (level === RELATION_LEVEL) acc = relation(op, acc, v);
      else acc = arithmetic(op, acc, v);
    }
    return acc;
  }

  function evalCall(node, ctx) {
    var args = node.args;
    if (node.name === "if") {
      return evalNode(truthy(evalNode(args[0], ctx)) ? args[1] : args[2], ctx);
    }
    if (node.name === "coalesce") {
      for (var i = 0; i < args.length - 1; i++) {
        var v = evalNode(args[i], ctx);
        if (!isEmpty(v)) return v;
      }
      return evalNode(args[args.length - 1], ctx);
    }
    var values = args.map(function (a) {
      return evalNode(a, ctx);
    });
    return FUNCTIONS[node.name][2].apply(null, [ctx].concat(values));
  }

  // -- functions ----------------------------------------------------------------------------
  function tokens(v) {
    if (Array.isArray(v)) return v;
    return toString(v).split(/[ \t\n\r]+/).filter(Boolean);
  }

  function numberFunction(f) {
    return function (ctx, x) {
      var n = toNumber(x);
      return n === null ? null : finite(f(n));
    };
  }

  function extreme(pick) {
    return function (ctx) {
      var values = [];
      for (var i = 1; i < arguments.length; i++) {
        var a = arguments[i];
        (Array.isArray(a) ? a : [a]).forEach(function (v) {
          values.push(toNumber(v));
        });
      }
      if (values.length === 0 || values.indexOf(null) >= 0) return null;
      return pick.apply(null, values);
    };
  }

  function codePoints(s) {
    return Array.from(s);
  }

  var FUNCTIONS = {
    if: [3, 3, null],
    coalesce: [2, null, null],
    selected: [2, 2, function (ctx, m, code) { return tokens(m).indexOf(toString(code)) >= 0; }],
    "count-selected": [1, 1, function (ctx, m) { return tokens(m).length; }],
    "selected-at": [2, 2, function (ctx, m, i) {
      var list = tokens(m), n = toNumber(i);
      if (n === null) return "";
      n = Math.trunc(n);
      return n >= 0 && n < list.length ? list[n] : "";
    }],
    count: [1, 1, function (ctx, x) { return Array.isArray(x) ? x.length : isEmpty(x) ? 0 : 1; }],
    not: [1, 1, function (ctx, x) { return !truthy(x); }],
    boolean: [1, 1, function (ctx, x) { return truthy(x); }],
    true: [0, 0, function () { return true; }],
    false: [0, 0, function () { return false; }],
    number: [1, 1, function (ctx, x) { return toNumber(x); }],
    string: [1, 1, function (ctx, x) { return toString(x); }],
    concat: [1, null, function (ctx) {
      var out = "";
      for (var i = 1; i < arguments.length; i++) out += toString(arguments[i]);
      return out;
    }],
    int: [1, 1, numberFunction(Math.trunc)],
    round: [1, 2, function (ctx, x, places) {
      var n = toNumber(x), p = places === undefined ? 0 : toNumber(places);
      return n === null || p === null ? null : roundHalfAway(n, p);
    }],
    floor: [1, 1, numberFunction(Math.floor)],
    ceiling: [1, 1, numberFunction(Math.ceil)],
    abs: [1, 1, numberFunction(Math.abs)],
    min: [1, null, extreme(Math.min)],
    max: [1, null, extreme(Math.max)],
    "string-length": [1, 1, function (ctx, s) { return codePoints(toString(s)).length; }],
    substr: [2, 3, function (ctx, s, start, end) {
      var chars = codePoints(toString(s));
      var length = chars.length;
      var first = toNumber(start);
      var last = end === undefined ? length : toNumber(end);
      if (first === null || last === null) return "";
      first = Math.min(Math.max(Math.trunc(first), 0), length);
      last = Math.min(Math.max(Math.trunc(last), 0), length);
      return chars.slice(first, last).join("");
    }],
    contains: [2, 2, function (ctx, s, t) { return toString(s).indexOf(toString(t)) >= 0; }],
    "starts-with": [2, 2, function (ctx, s, t) { return toString(s).startsWith(toString(t)); }],
    "ends-with": [2, 2, function (ctx, s, t) { return toString(s).endsWith(toString(t)); }],
    regex: [2, 2, function (ctx, s, pattern) {
      var program = compiledPattern(toString(pattern));
      return program !== null && search(program, toString(s));
    }],
    today: [0, 0, function (ctx) { return ctx.today; }],
    date: [1, 1, function (ctx, x) {
      var n = toNumber(x);
      return n === null ? null : formatDate(n);
    }],
    "decimal-date-time": [1, 1, function (ctx, x) { return toNumber(x); }],
  };

  function expected(low, high) {
    if (high === null) return low + "+";
    return low === high ? String(low) : low + "-" + high;
  }

  // -- parser -------------------------------------------------------------------------------
  function Parser(text) {
    this.tokens = tokenize(text);
    this.i = 0;
    this.nesting = 0;
  }
  Parser.prototype.peek = function () {
    return this.tokens[this.i];
  };
  Parser.prototype.next = function () {
    return this.tokens[this.i++];
  };
  Parser.prototype.parse = function () {
    if (this.peek().kind === "end") fail("empty_expression", 0);
    var node = this.expression(0);
    var t = this.peek();
    if (t.kind !== "end") fail("unexpected_token", t.pos, { text: t.text });
    return node;
  };
  Parser.prototype.expression = function (minLevel) {
    this.nesting += 1;
    if (this.nesting > MAX_DEPTH) fail("too_deep", this.peek().pos, { max: MAX_DEPTH });
    var left = this.operand();
    for (;;) {
      var t = this.peek();
      var level = t.kind === "op" ? BINARY[t.value] : undefined;
      if (level === undefined || level <= minLevel) break;
      this.next();
      var right = this.expression(level);
      if (!(left.type === "chain" && left.level === level)) {
        left = { type: "chain", level: level, first: left, rest: [], depth: left.depth + 1 };
      }
      left.rest.push([t.value, right]);
      left.depth = Math.max(left.depth, right.depth + 1);
      checkDepth(left, t);
    }
    this.nesting -= 1;
    return left;
  };
  function checkDepth(node, t) {
    if (node.depth > MAX_DEPTH) fail("too_deep", t.pos, { max: MAX_DEPTH });
  }
  Parser.prototype.operand = function () {
    var t = this.next();
    var kind = t.kind;
    if (kind === "num" || kind === "str") {
      return { type: "literal", value: t.value, pos: t.pos, depth: 1 };
    }
    if (kind === "ref") return { type: "ref", name: t.value, pos: t.pos, depth: 1 };
    if (kind === "dot") return { type: "current", pos: t.pos, depth: 1 };
    if (kind === "op" && t.value === "-") {
      var operand = this.expression(UNARY_LEVEL);
      var node = { type: "negate", operand: operand, depth: operand.depth + 1 };
      checkDepth(node, t);
      return node;
    }
    if (kind === "(") {
      var inner = this.expression(0);
      this.close(t);
      return inner;
    }
    if (kind === "name") {
      if (this.peek().kind !== "(") fail("bare_name", t.pos, { name: t.value });
      return this.call(t);
    }
    if (kind === "end") fail("unexpected_end", t.pos);
    fail("unexpected_token", t.pos, { text: t.text });
  };
  Parser.prototype.close = function (opening) {
    var t = this.next();
    if (t.kind === ")") return;
    if (t.kind === "end") fail("unclosed_paren", opening.pos);
    fail("unexpected_token", t.pos, { text: t.text });
  };
  Parser.prototype.call = function (name) {
    if (!Object.prototype.hasOwnProperty.call(FUNCTIONS, name.value)) {
      fail("unknown_function", name.pos, { name: name.value });
    }
    var opening = this.next();
    var args = [];
    if (this.peek().kind === ")") {
      this.next();
    } else {
      for (;;) {
        args.push(this.expression(0));
        if (this.peek().kind === ",") {
          this.next();
          continue;
        }
        this.close(opening);
        break;
      }
    }
    var spec = FUNCTIONS[name.value];
    if (args.length < spec[0] || (spec[1] !== null && args.length > spec[1])) {
      fail("wrong_arity", name.pos, {
        name: name.value,
        expected: expected(spec[0], spec[1]),
        got: args.length,
      });
    }
    if (name.value === "regex" && args[1].type === "literal") {
      checkPattern(toString(args[1].value), args[1].pos);
    }
    var depth = 1;
    args.forEach(function (a) {
      depth = Math.max(depth, a.depth + 1);
    });
    var node = { type: "call", name: name.value, args: args, depth: depth };
    checkDepth(node, name);
    return node;
  };

  // -- regular expressions: a portable subset, run on a Thompson NFA ---------------------------
  // Instructions: [CHAR, matcher] [SPLIT, a, b] [JUMP, a] [ASSERT, kind] [MATCH]
  var CHAR = 0, SPLIT = 1, JUMP = 2, ASSERT = 3, MATCH = 4;
  var MAX_PROGRAM = 5000, MAX_REPEAT = 1000, MAX_GROUPS = 20;
  var DIGIT = [[0x30, 0x39]];
  var WORD = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
  var SPACE = [
    [0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a],
    [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff],
  ];
  var LINE_BREAKS = [[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]];
  var SHORTHANDS = {
    d: [DIGIT, false], D: [DIGIT, true], w: [WORD, false], W: [WORD, true],
    s: [SPACE, false], S: [SPACE, true],
  };
  var CONTROL_ESCAPES = { t: 9, n: 10, v: 11, f: 12, r: 13 };
  var REPEAT_RE = /^\{([0-9]+)(,([0-9]*))?\}/;

  function repeatCount(digits) {
    digits = digits.replace(/^0+/, "") || "0";
    return digits.length <= 4 ? parseInt(digits, 10) : MAX_REPEAT + 1;
  }

  function PatternError(reason, at) {
    this.reason = reason;
    this.at = at;
  }

  function inRanges(ranges, c) {
    for (var i = 0; i < ranges.length; i++) if (ranges[i][0] <= c && c <= ranges[i][1]) return true;
    return false;
  }

  function PatternParser(pattern) {
    this.p = Array.from(pattern);
    this.i = 0;
    this.groups = 0;
  }
  PatternParser.prototype.fail = function (reason, at) {
    throw new PatternError(reason, at === undefined ? this.i : at);
  };
  PatternParser.prototype.parse = function () {
    var node = this.alternation();
    if (this.i < this.p.length) this.fail("unbalanced_paren");
    return node;
  };
  PatternParser.prototype.alternation = function () {
    var branches = [this.sequence()];
    while (this.i < this.p.length && this.p[this.i] === "|") {
      this.i += 1;
      branches.push(this.sequence());
    }
    return branches.length === 1 ? branches[0] : ["alt", branches];
  };
  PatternParser.prototype.sequence = function () {
    var items = [];
    while (this.i < this.p.length && "|)".indexOf(this.p[this.i]) < 0) {
      items.push(this.repeat(this.atom()));
    }
    return ["cat", items];
  };
  PatternParser.prototype.repeat = function (atom) {
    var p = this.p;
    if (this.i >= p.length || "*+?{".indexOf(p[this.i]) < 0) return atom;
    var start = this.i;
    var c = p[this.i];
    var low, high;
    if (c === "{") {
      var m = REPEAT_RE.exec(p.slice(this.i).join(""));
      if (!m) this.fail("bad_repeat");
      low = repeatCount(m[1]);
      high = m[2] === undefined ? low : m[3] ? repeatCount(m[3]) : null;
      if (low > MAX_REPEAT || (high !== null && (high < low || high > MAX_REPEAT))) {
        this.fail("bad_repeat");
      }
      this.i += m[0].length;
    } else {
      low = c === "+" ? 1 : 0;
      high = c === "?" ? 1 : null;
      this.i += 1;
    }
    if (atom[0] === "assert") this.fail("nothing_to_repeat", start);
    if (this.i < p.length && p[this.i] === "?") this.i += 1; // lazy: the same language
    if (this.i < p.length && "*+?{".indexOf(p[this.i]) >= 0) this.fail("nothing_to_repeat");
    return ["rep", atom, low, high];
  };
  PatternParser.prototype.atom = function () {
    var p = this.p;
    var c = p[this.i];
    var start = this.i;
    this.i += 1;
    if (c === "(") {
      if (p[this.i] === "?" && p[this.i + 1] === ":") this.i += 2;
      else if (p[this.i] === "?") this.fail("unsupported_group", start);
      this.groups += 1;
      if (this.groups > MAX_GROUPS) this.fail("too_large", start);
      var node = this.alternation();
      if (this.i >= p.length) this.fail("unclosed_group", start);
      this.i += 1; // the ')'
      this.groups -= 1;
      return node;
    }
    if ("*+?".indexOf(c) >= 0) this.fail("nothing_to_repeat", start);
    if (c === "{") this.fail("bad_repeat", start);
    if (c === "[") return this.charClass(start);
    if (c === ".") return ["set", true, [[LINE_BREAKS, false]]];
    if (c === "^") return ["assert", "^"];
    if (c === "$") return ["assert", "$"];
    if (c === "\\") {
      if (this.i < p.length && (p[this.i] === "b" || p[this.i] === "B")) {
        this.i += 1;
        return ["assert", p[this.i - 1]];
      }
      return ["set", false, [this.escape(start)]];
    }
    var code = c.codePointAt(0);
    return ["set", false, [[[[code, code]], false]]];
  };
  PatternParser.prototype.escape = function (start) {
    var p = this.p;
    if (this.i >= p.length) this.fail("trailing_backslash", start);
    var c = p[this.i];
    this.i += 1;
    var code;
    if (Object.prototype.hasOwnProperty.call(SHORTHANDS, c)) return SHORTHANDS[c];
    if (Object.prototype.hasOwnProperty.call(CONTROL_ESCAPES, c)) {
      code = CONTROL_ESCAPES[c];
    } else if (c === "u" || c === "x") {
      var width = c === "u" ? 4 : 2;
      var digits = p.slice(this.i, this.i + width).join("");
      if (digits.length !== width || !/^[0-9a-fA-F]+$/.test(digits)) {
        this.fail("unsupported_escape", start);
      }
      this.i += width;
      code = parseInt(digits, 16);
    } else if (/^[A-Za-z0-9]$/.test(c)) {
      this.fail("unsupported_escape", start);
    } else {
      code = c.codePointAt(0);
    }
    return [[[code, code]], false];
  };
  PatternParser.prototype.charClass = function (start) {
    var p = this.p;
    var negated = p[this.i] === "^";
    if (negated) this.i += 1;
    if (p[this.i] === "]") this.fail("empty_class", start);
    var parts = [];
    for (;;) {
      if (this.i >= p.length) this.fail("unclosed_class", start);
      if (p[this.i] === "]") {
        this.i += 1;
        return ["set", negated, parts];
      }
      var low = this.classAtom();
      if (p[this.i] === "-" && this.i + 1 < p.length && p[this.i + 1] !== "]") {
        var dash = this.i;
        this.i += 1;
        var high = this.classAtom();
        if (
          low[1] || high[1] || low[0].length !== 1 || high[0].length !== 1 ||
          low[0][0][0] !== low[0][0][1] || high[0][0][0] !== high[0][0][1] ||
          low[0][0][0] > high[0][0][0]
        ) {
          this.fail("bad_range", dash);
        }
        parts.push([[[low[0][0][0], high[0][0][0]]], false]);
      } else {
        parts.push(low);
      }
    }
  };
  PatternParser.prototype.classAtom = function () {
    var p = this.p;
    var c = p[this.i];
    var start = this.i;
    this.i += 1;
    if (c === "\\") {
      if (this.i < p.length && (p[this.i] === "b" || p[this.i] === "B")) {
        this.fail("unsupported_escape", start); // [\b] means backspace elsewhere: refuse it
      }
      return this.escape(start);
    }
    var code = c.codePointAt(0);
    return [[[code, code]], false];
  };

  function emit(node, program) {
    var kind = node[0], i, split;
    if (program.length > MAX_PROGRAM) throw new PatternError("too_large", 0);
    if (kind === "set") {
      program.push([CHAR, [node[1], node[2]]]);
    } else if (kind === "assert") {
      program.push([ASSERT, node[1]]);
    } else if (kind === "cat") {
      node[1].forEach(function (item) {
        emit(item, program);
      });
    } else if (kind === "alt") {
      var branches = node[1], jumps = [];
      for (i = 0; i < branches.length - 1; i++) {
        split = program.length;
        program.push(null);
        emit(branches[i], program);
        jumps.push(program.length);
        program.push(null);
        program[split] = [SPLIT, split + 1, program.length];
      }
      emit(branches[branches.length - 1], program);
      jumps.forEach(function (j) {
        program[j] = [JUMP, program.length];
      });
    } else {
      var item = node[1], low = node[2], high = node[3];
      for (i = 0; i < low; i++) emit(item, program);
      if (high === null) {
        split = program.length;
        program.push(null);
        emit(item, program);
        program.push([JUMP, split]);
        program[split] = [SPLIT, split + 1, program.length];
      } else {
        for (i = 0; i < high - low; i++) {
          split = program.length;
          program.push(null);
          emit(item, program);
          program[split] = [SPLIT, split + 1, program.length];
        }
      }
    }
  }

  function compile(pattern) {
    var tree = new PatternParser(pattern).parse();
    var program = [];
    emit(tree, program);
    if (program.length > MAX_PROGRAM) throw new PatternError("too_large", 0);
    program.push([MATCH]);
    return program;
  }

  var patternCache = new Map();
  function compiledPattern(pattern) {
    if (!patternCache.has(pattern)) {
      if (patternCache.size >= 512) patternCache.clear();
      var program = null;
      try {
        program = compile(pattern);
      } catch (e) {
        if (!(e instanceof PatternError)) throw e;
      }
      patternCache.set(pattern, program);
    }
    return patternCache.get(pattern);
  }

  function checkPattern(pattern, pos) {
    try {
      compile(pattern);
    } catch (e) {
      if (!(e instanceof PatternError)) throw e;
      fail("bad_regex", pos, { reason: e.reason, at: e.at });
    }
  }

  function search(program, s) {
    // Whether the program matches anywhere in s: a Pike VM without captures.
    var text = Array.from(s, function (ch) {
      return ch.codePointAt(0);
    });
    var n = text.length;
    var seen = new Array(program.length).fill(-1);
    function isWord(i) {
      return i >= 0 && i < n && inRanges(WORD, text[i]);
    }
    function add(threads, pc, i) {
      var stack = [pc];
      while (stack.length) {
        pc = stack.pop();
        if (seen[pc] === i) continue;
        seen[pc] = i;
        var op = program[pc];
        var kind = op[0];
        if (kind === JUMP) {
          stack.push(op[1]);
        } else if (kind === SPLIT) {
          stack.push(op[2]);
          stack.push(op[1]);
        } else if (kind === ASSERT) {
          var a = op[1];
          if (
            (a === "^" && i === 0) ||
            (a === "$" && i === n) ||
            (a === "b" && isWord(i - 1) !== isWord(i)) ||
            (a === "B" && isWord(i - 1) === isWord(i))
          ) {
            stack.push(pc + 1);
          }
        } else {
          threads.push(pc);
        }
      }
    }
    var threads = [];
    for (var i = 0; i <= n; i++) {
      add(threads, 0, i); // a match may start anywhere
      var following = [];
      var c = i < n ? text[i] : -1;
      for (var t = 0; t < threads.length; t++) {
        var op = program[threads[t]];
        if (op[0] === MATCH) return true;
        if (c >= 0) {
          var negated = op[1][0], parts = op[1][1], hit = false;
          for (var k = 0; k < parts.length; k++) {
            if (inRanges(parts[k][0], c) !== parts[k][1]) {
              hit = true;
              break;
            }
          }
          if (hit !== negated) add(following, threads[t] + 1, i + 1);
        }
      }
      threads = following;
    }
    return false;
  }

  // -- public API ------------------------------------------------------------------------------
  function localToday() {
    var d = new Date();
    return pad(d.getFullYear(), 4) + "-" + pad(d.getMonth() + 1, 2) + "-" + pad(d.getDate(), 2);
  }

  function Expression(text, tree, refs, currentPositions) {
    this.text = text;
    this.tree = tree;
    this.refs = refs; // [name, pos] in order of appearance
    this.currentPositions = currentPositions;
    this.usesCurrent = currentPositions.length > 0;
  }
  Expression.prototype.references = function () {
    var names = [];
    this.refs.forEach(function (r) {
      if (names.indexOf(r[0]) < 0) names.push(r[0]);
    });
    return names.sort();
  };
  Expression.prototype.evaluate = function (values, current, today) {
    var ctx = {
      values: values || {},
      current: value(current),
      today: today === undefined || today === null ? localToday() : String(today),
    };
    return result(evalNode(this.tree, ctx));
  };
  Expression.prototype.test = function (values, current, today) {
    return truthy(this.evaluate(values, current, today));
  };

  function parse(text) {
    if (typeof text !== "string") throw new TypeError("an expression is a string");
    var parser = new Parser(text);
    var tree = parser.parse();
    var refs = [], current = [];
    parser.tokens.forEach(function (t) {
      if (t.kind === "ref") refs.push([t.value, t.pos]);
      if (t.kind === "dot") current.push(t.pos);
    });
    return new Expression(text, tree, refs, current);
  }

  function asExpression(expression) {
    return expression instanceof Expression ? expression : parse(expression);
  }

  function evaluate(expression, values, current, today) {
    return asExpression(expression).evaluate(values, current, today);
  }

  function references(expression) {
    return asExpression(expression).references();
  }

  function check(text, knownFields, allowCurrent, language) {
    var expression;
    try {
      expression = parse(text);
    } catch (e) {
      if (e instanceof ExpressionError) return [e.asDict(language)];
      throw e;
    }
    var known = new Set(knownFields || []);
    var errors = [];
    expression.refs.forEach(function (r) {
      if (!known.has(r[0])) errors.push(new ExpressionError("unknown_field", r[1], { name: r[0] }));
    });
    if (allowCurrent === false) {
      expression.currentPositions.forEach(function (pos) {
        errors.push(new ExpressionError("current_not_allowed", pos));
      });
    }
    errors.sort(function (a, b) {
      return a.pos - b.pos;
    });
    return errors.map(function (e) {
      return e.asDict(language);
    });
  }

  global.FormExpressions = {
    parse: parse,
    evaluate: evaluate,
    references: references,
    check: check,
    truthy: truthy,
    isEmpty: isEmpty,
    ExpressionError: ExpressionError,
    MESSAGES: MESSAGES,
    MAX_DEPTH: MAX_DEPTH,
  };
})(typeof window !== "undefined" ? window : globalThis);
