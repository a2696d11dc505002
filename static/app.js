// totp-toolset: the little script the pages use. Every page works without it; it only adds
// a live countdown and code refresh on the codes page (from /api/otp) and copy buttons.
// It never sends a seed anywhere: it only reads /api/otp, which holds codes, not seeds.
"use strict";

(function () {
  function setupCopyButtons() {
    var buttons = document.querySelectorAll("button.copy");
    buttons.forEach(function (button) {
      if (!navigator.clipboard) {
        return;
      }
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = button.getAttribute("data-copy");
        var from = button.getAttribute("data-copy-from");
        if (from) {
          var el = document.getElementById(from);
          text = el ? el.textContent.trim() : "";
        }
        navigator.clipboard.writeText(text || "").then(function () {
          var label = button.textContent;
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = label; }, 1500);
        });
      });
    });
  }

  function setupLiveCode() {
    var live = document.getElementById("live");
    if (!live) {
      return;
    }
    var code = document.getElementById("live-code");
    var next = document.getElementById("live-next");
    var remainingText = document.getElementById("live-remaining");
    var progress = document.getElementById("live-progress");
    var time = document.getElementById("live-time");
    var period = parseInt(live.getAttribute("data-period"), 10);
    // The deadline of the current code, on this browser's clock.
    var deadline = Date.now() + parseInt(live.getAttribute("data-remaining"), 10) * 1000;
    var fetching = false;

    function show(remaining) {
      remainingText.textContent = String(remaining);
      progress.value = remaining;
      progress.textContent = remaining + " s";
    }

    function refresh() {
      if (fetching) {
        return;
      }
      fetching = true;
      fetch("/api/otp", { credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("status " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          code.textContent = data.code;
          next.textContent = data.next_code;
          time.textContent = data.now_utc;
          period = data.period;
          progress.max = period;
          deadline = Date.now() + data.seconds_remaining * 1000;
          show(data.seconds_remaining);
        })
        .catch(function () {
          // Keep the last code; the next tick tries again.
          deadline = Date.now() + 2000;
        })
        .finally(function () {
          fetching = false;
        });
    }

    setInterval(function () {
      var remaining = Math.ceil((deadline - Date.now()) / 1000);
      if (remaining <= 0) {
        refresh();
      } else {
        show(Math.min(remaining, period));
      }
    }, 250);
  }

  // A burn waits for the token on the reader: say so, and stop a second click from
  // starting a second burn while the first one is still writing.
  function setupBurnForm() {
    var form = document.getElementById("burn-form");
    if (!form) return;
    form.addEventListener("submit", function () {
      var waiting = document.getElementById("burn-waiting");
      var button = document.getElementById("burn-submit");
      if (waiting) waiting.hidden = false;
      if (button) {
        // Disabled after the submit event has been handed on, so the form still posts.
        setTimeout(function () { button.disabled = true; }, 0);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupCopyButtons();
    setupLiveCode();
    setupBurnForm();
  });
})();
