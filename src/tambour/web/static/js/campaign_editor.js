// The campaign editor, enhanced: the personalization fields' buttons insert their {field}
// where the cursor is in the text, which tells the live counter (an input event). Without
// JavaScript the buttons stay hidden and the fields are listed for copying.
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
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
