// Live SMS segment count under the message box (the panel works without it: the server counts
// again when it sends, bot/core/segments.py, which this mirrors: GSM-7 160 / 153 per part,
// otherwise UCS-2 70 / 67, as carriers bill).
"use strict";
(function () {
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENDED = "^{}\\[~]|€\f";
  function count(text) {
    var gsm = true, septets = 0, i, ch;
    for (i = 0; i < text.length; i++) {
      ch = text.charAt(i);
      if (BASIC.indexOf(ch) >= 0) { septets += 1; }
      else if (EXTENDED.indexOf(ch) >= 0) { septets += 2; }
      else { gsm = false; break; }
    }
    var n = gsm ? septets : text.length;  // JS length counts UTF-16 units, as UCS-2 does
    var single = gsm ? 160 : 70, multi = gsm ? 153 : 67;
    var parts = !text ? 1 : (n <= single ? 1 : Math.ceil(n / multi));
    return { n: n, parts: parts, enc: gsm ? "GSM-7" : "UCS-2" };
  }
  var box = document.getElementById("text"), out = document.getElementById("text-count");
  if (!box || !out) { return; }
  function show() {
    var c = count(box.value);
    out.textContent = c.n + " characters, " + c.enc + ": " + c.parts + " SMS" +
      (c.parts === 1 ? "" : " (" + (c.enc === "GSM-7" ? 153 : 67) + " characters each)");
  }
  box.addEventListener("input", show);
  show();
}());
