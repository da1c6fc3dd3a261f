// The live escalation queue: a small poll, as progressive enhancement. Without JavaScript the
// page is the same list and a reload shows new alerts. With it, the list is fetched again every
// few seconds (marked as a poll: it does not keep an idle session alive) and swapped in when it
// changed, unless the person is in the middle of something on it; then they are told instead.
(function () {
  "use strict";
  var list = document.getElementById("queue-items");
  var live = document.getElementById("queue-live");
  if (!list || !live || !window.fetch || !window.DOMParser) {
    return;
  }
  var every = (parseInt(list.getAttribute("data-poll-seconds"), 10) || 15) * 1000;
  var baseTitle = document.title.replace(/^\(\d+ RED\) /, "");

  function busy() {
    var active = document.activeElement;
    return list.querySelector("details[open]") !== null ||
      (active !== null && active !== document.body && list.contains(active));
  }

  function setTitle(red) {
    document.title = (red > 0 ? "(" + red + " RED) " : "") + baseTitle;
  }

  function clock() {
    var d = new Date();
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  function poll() {
    fetch(window.location.href, {credentials: "same-origin", headers: {"X-O2R-Poll": "1"}})
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html")
          .getElementById("queue-items");
        if (!fresh) {
          live.textContent = "You have been signed out after a while without activity." +
            " Reload the page to sign in and see the queue.";
          return;  // no more polling until they are back
        }
        var red = parseInt(fresh.getAttribute("data-red"), 10) || 0;
        if (fresh.getAttribute("data-version") !== list.getAttribute("data-version")) {
          if (busy()) {
            live.textContent = "The queue has changed (" + red + " RED open)." +
              " Finish what you are doing, then reload the page to see it.";
          } else {
            var adopted = document.importNode(fresh, true);
            list.parentNode.replaceChild(adopted, list);
            list = adopted;
            live.textContent = "Queue updated at " + clock() + ": " + red + " RED open.";
          }
        }
        setTitle(red);
        window.setTimeout(poll, every);
      })
      .catch(function () {
        live.textContent = "Could not refresh the queue (connection?). Trying again;" +
          " reload the page to be sure.";
        window.setTimeout(poll, every);
      });
  }

  setTitle(parseInt(list.getAttribute("data-red"), 10) || 0);
  window.setTimeout(poll, every);
}());
