// totp-toolset: the little script the pages use. Every page works without it; it adds a live
// countdown and code refresh on the codes page (from /api/otp; "your session ended" when it
// answers 410), copy buttons, focus on the first field in error, a warning before
// leaving with rows not yet downloaded, and the bulk burn panel's steps on the batch page.
// It never sends a seed anywhere: it reads /api/otp, which holds codes, not seeds, and posts
// the bulk panel's buttons to our own server, whose answers hold codes, not seeds.
"use strict";

(function () {
  function announce(text) {
    var status = document.getElementById("copy-status");
    if (status) {
      // Emptied first so the same message twice is announced twice.
      status.textContent = "";
      setTimeout(function () { status.textContent = text; }, 50);
    }
  }

  function setupCopyButtons() {
    var buttons = document.querySelectorAll("button.copy");
    buttons.forEach(function (button) {
      if (!navigator.clipboard) {
        // Over plain HTTP to a remote host there is no clipboard API: no dead buttons.
        return;
      }
      var label = button.textContent;
      var timer = null;
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = button.getAttribute("data-copy");
        var from = button.getAttribute("data-copy-from");
        if (from) {
          var el = document.getElementById(from);
          text = el ? el.textContent.trim() : "";
        }
        function feedback(ok) {
          button.textContent = ok ? "Copied" : "Copy failed";
          button.classList.toggle("copied", ok);
          button.classList.toggle("failed", !ok);
          announce(ok ? "Copied to the clipboard" : "Could not copy: select the text and copy it by hand");
          clearTimeout(timer);
          timer = setTimeout(function () {
            button.textContent = label;
            button.classList.remove("copied", "failed");
          }, 2000);
        }
        navigator.clipboard.writeText(text || "").then(
          function () { feedback(true); },
          function () { feedback(false); }
        );
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
    var ringLeft = document.getElementById("live-ring-left");
    var time = document.getElementById("live-time");
    var period = parseInt(live.getAttribute("data-period"), 10);
    // The deadline of the current code, on this browser's clock.
    var deadline = Date.now() + parseInt(live.getAttribute("data-remaining"), 10) * 1000;
    var fetching = false;
    var ended = false;
    var timer = null;

    // The server no longer knows this page's session (it expired, or the server restarted):
    // the codes on screen belong to a seed that is gone. Say so once and stop counting.
    function sessionEnded() {
      ended = true;
      clearInterval(timer);
      var notice = document.getElementById("live-ended");
      if (notice) {
        notice.hidden = false;
      }
      code.textContent = "------";
      next.textContent = "------";
      // No code is coming: no countdown to one either.
      remainingText.parentNode.hidden = true;
    }

    function show() {
      var left = Math.max(0, deadline - Date.now());
      var seconds = Math.min(period, Math.ceil(left / 1000));
      if (remainingText.textContent !== String(seconds)) {
        remainingText.textContent = String(seconds);
      }
      // The ring moves smoothly; the text moves in whole seconds, as the code does.
      var used = 100 - Math.min(100, (left / (period * 1000)) * 100);
      ringLeft.setAttribute("stroke-dashoffset", used.toFixed(2));
      live.classList.toggle("ending", seconds <= 5);
    }

    function refresh() {
      if (fetching || ended) {
        return;
      }
      fetching = true;
      fetch("/api/otp", { credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (response.status === 410) {
            sessionEnded();
            return null;
          }
          if (!response.ok) {
            throw new Error("status " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          if (!data) {
            return;
          }
          code.textContent = data.code;
          next.textContent = data.next_code;
          time.textContent = data.now_utc;
          period = data.period;
          deadline = Date.now() + data.seconds_remaining * 1000;
          show();
        })
        .catch(function () {
          // Keep the codes shown; the next step tries again.
        })
        .finally(function () {
          fetching = false;
        });
    }

    timer = setInterval(function () {
      if (Date.now() >= deadline) {
        // The next code is already known: show it the moment the ring runs out, so code
        // and countdown change together; the server then confirms it (and the clock).
        code.textContent = next.textContent;
        deadline += period * 1000;
        refresh();
      }
      show();
    }, 200);
    show();
  }

  // After a refused form, put the focus on the first field in error: a screen reader then
  // reads the field and the message tied to it by aria-describedby.
  function focusFirstError() {
    var bad = document.querySelector("[aria-invalid=\"true\"]");
    if (bad) {
      bad.focus();
    }
  }

  // Rows live only in the session's memory until downloaded: ask before the tab is closed
  // or the browser leaves the site. Moving between the toolset's own pages loses nothing.
  function setupUnsavedWarning() {
    var unsaved = parseInt(document.body.getAttribute("data-unsaved-rows") || "0", 10);
    var withinSite = false;
    var reset = null;
    function staying() {
      withinSite = true;
      clearTimeout(reset);
      // A click that did not navigate (a new tab, a cancelled submit) must not silence
      // the warning for good.
      reset = setTimeout(function () { withinSite = false; }, 1000);
    }
    function downloaded() {
      unsaved = 0;
      document.body.setAttribute("data-unsaved-rows", "0");
      var note = document.getElementById("unsaved-note");
      if (note) {
        note.hidden = true;
      }
      document.querySelectorAll("nav .count.unsaved").forEach(function (c) {
        c.classList.remove("unsaved");
        var hint = c.querySelector(".visually-hidden");
        if (hint) {
          hint.remove();
        }
      });
    }
    document.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a[href]") : null;
      if (!link) {
        return;
      }
      if (link.hasAttribute("data-download")) {
        downloaded();
      } else if (link.origin === window.location.origin) {
        staying();
      }
    });
    // A form that answers with a file (an encrypted download) saves the batch like a link.
    document.addEventListener("submit", function (event) {
      if (event.target.hasAttribute && event.target.hasAttribute("data-download")) {
        downloaded();
      }
      staying();
    });
    window.addEventListener("beforeunload", function (event) {
      // The bulk panel adds rows without a page load: it keeps the body's count current.
      unsaved = Math.max(unsaved, parseInt(document.body.getAttribute("data-unsaved-rows") || "0", 10));
      if (unsaved > 0 && !withinSite) {
        event.preventDefault();
        // Older browsers need returnValue set to show the prompt.
        event.returnValue = "";
      }
    });
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

  // Bulk burn: with JavaScript the run goes on by itself. Each step is one POST that waits
  // a few seconds for a token (less than the server's request timeout); its answer is the
  // panel as it is now, drawn in place, and whether to ask again. The panel's buttons post
  // the same way. Seeds never pass through here: the server draws them and sends them to
  // the NFC agent only; the answers hold codes to compare.
  function setupBulk() {
    var panel = document.getElementById("bulk");
    if (!panel) return;
    var stepping = false;

    function post(action, body) {
      return fetch(action, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: {
          "Accept": "application/json",
          "Content-Type": "application/x-www-form-urlencoded"
        },
        body: body || ""
      }).then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      });
    }

    function trouble() {
      var status = document.getElementById("bulk-status");
      if (status) {
        status.textContent = "The server did not answer this step. Press \"Burn the next token\" to go on (nothing was lost: a token burned meanwhile has its row).";
      }
      var button = document.getElementById("bulk-step");
      if (button) button.hidden = false;
    }

    function draw(data) {
      var holder = document.createElement("div");
      holder.innerHTML = data.panel;
      var fresh = holder.querySelector("#bulk");
      if (!fresh) return;
      panel.replaceWith(fresh);
      panel = fresh;
      document.body.setAttribute("data-unsaved-rows", panel.getAttribute("data-unsaved-rows") || "0");
      wire();
    }

    function step() {
      if (stepping || panel.getAttribute("data-state") !== "running") return;
      stepping = true;
      post("/csv/bulk/step").then(function (data) {
        stepping = false;
        draw(data);
      }).catch(function () {
        stepping = false;
        trouble();
      });
    }

    function wire() {
      var button = document.getElementById("bulk-step");
      if (button) {
        // The run asks for the next token by itself; the button returns if a step fails.
        button.hidden = true;
        var hint = panel.querySelector(".bulk-step-hint");
        if (hint) hint.textContent = "Tap the tokens one after another: the page goes on by itself.";
      }
      panel.querySelectorAll("form").forEach(function (form) {
        if (form.id === "bulk-start-form") return;
        form.addEventListener("submit", function (event) {
          event.preventDefault();
          var body = new URLSearchParams(new FormData(form)).toString();
          form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
          post(form.getAttribute("action"), body).then(draw).catch(trouble);
        });
      });
      if (panel.getAttribute("data-state") === "running") {
        // After a reload with a step still at the agent, the server says so and we ask again.
        setTimeout(step, panel.hasAttribute("data-busy") ? 500 : 0);
      }
    }

    wire();
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupCopyButtons();
    setupLiveCode();
    setupBurnForm();
    setupBulk();
    focusFirstError();
    setupUnsavedWarning();
  });
})();
