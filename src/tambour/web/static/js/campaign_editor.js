// The campaign editor, enhanced: the personalization fields' buttons insert their {field}
// where the cursor is in the text, which tells the live counter (an input event). Without
// JavaScript the buttons stay hidden and the fields are listed for copying.
// An A/B test's criterion, until the marketer chooses one, follows the text as the server
// would choose it for a test that names none: clicks when the text has a short link
// ({link:...}), else opt-outs. Without JavaScript it is chosen from the text as last sent.
(function () {
  "use strict";
  function setUp() {
    document.querySelectorAll("button.insert[data-insert]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = document.getElementById("f-text");
        if (!text) { return; }
        var value = button.getAttribute("data-insert");
        var start = text.selectionStart, end = text.selectionEnd;
        text.setRangeText(value, start, end, "end");
        text.focus();
        text.dispatchEvent(new Event("input", { bubbles: true }));
      });
    });
    var criterion = document.getElementById("f-winner_by");
    if (criterion && criterion.getAttribute("data-auto") === "true") {
      criterion.addEventListener("change", function () {
        criterion.removeAttribute("data-auto");
      });
      // The text field is swapped whole by the GSM-7 button: listened to from the document.
      document.addEventListener("input", function (event) {
        var target = event.target;
        if (!target || target.id !== "f-text" || !criterion.hasAttribute("data-auto")) { return; }
        criterion.value = /\{\s*link\s*:/i.test(target.value) ? "clicks" : "optouts";
      });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
