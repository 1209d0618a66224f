// ReferralPulse page script: live banners and dashboard figures from the
// event stream, confirmation dialogs, the modal link dialog and the
// browser's time zone for the assistant. Every page works without it.
(function () {
  "use strict";

  // hasTarget mirrors the server's notificationURL: a banner gets an Open
  // button when it is about a referral or a queued draft.
  function hasTarget(n) {
    return !!n.referral_id || n.kind === "draft_queued";
  }

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) {
      el.className = className;
    }
    if (text) {
      el.textContent = text;
    }
    return el;
  }

  function postForm(action, csrf, label, buttonClass, ariaLabel) {
    var form = element("form");
    form.method = "post";
    form.action = action;
    var token = element("input");
    token.type = "hidden";
    token.name = "_csrf";
    token.value = csrf;
    form.appendChild(token);
    var button = element("button", buttonClass, label);
    button.type = "submit";
    button.setAttribute("aria-label", ariaLabel);
    form.appendChild(button);
    return form;
  }

  // buildBanner creates the same markup as the dashboard template, using
  // textContent only, so notification text can never become markup.
  function buildBanner(n, csrf) {
    var banner = element("div", "banner banner-" + (n.kind || "info") + " live");
    banner.id = "notification-" + n.id;
    banner.setAttribute("role", "status");

    var text = element("div", "banner-text");
    text.appendChild(element("strong", "", n.title));
    text.appendChild(element("span", "", n.body));
    text.appendChild(element("small", "", "just now"));
    banner.appendChild(text);

    var actions = element("div", "banner-actions");
    var base = "/notifications/" + encodeURIComponent(n.id);
    if (hasTarget(n)) {
      actions.appendChild(postForm(base + "/open", csrf, "Open", "", "Open: " + n.title));
    }
    var read = postForm(base + "/read", csrf, "Mark read", "secondary", "Mark read: " + n.title);
    read.setAttribute("hx-post", base + "/read");
    read.setAttribute("hx-target", "#" + banner.id);
    read.setAttribute("hx-swap", "outerHTML");
    var back = element("input");
    back.type = "hidden";
    back.name = "back";
    back.value = location.pathname;
    read.insertBefore(back, read.lastChild);
    actions.appendChild(read);
    banner.appendChild(actions);
    return banner;
  }

  // capBanners keeps at most data-cap banners in the dashboard list and
  // shows the "Show all" link when some are left out.
  function capBanners(list) {
    var cap = parseInt(list.getAttribute("data-cap") || "", 10);
    if (!cap) {
      return;
    }
    var banners = list.querySelectorAll(".banner");
    for (var i = cap; i < banners.length; i++) {
      banners[i].remove();
    }
    var more = document.getElementById("notifications-more");
    if (more && banners.length > cap) {
      more.hidden = false;
    }
  }

  function showNotification(n, csrf) {
    if (!n || !n.id || document.getElementById("notification-" + n.id)) {
      return;
    }
    var list = document.getElementById("notification-list") || document.getElementById("banners");
    if (!list) {
      return;
    }
    var banner = buildBanner(n, csrf);
    list.insertBefore(banner, list.firstChild);
    if (list.id === "notification-list") {
      capBanners(list);
    }
    var empty = document.getElementById("notifications-empty");
    if (empty) {
      empty.hidden = true;
    }
    var readAll = document.getElementById("read-all");
    if (readAll) {
      readAll.hidden = false;
    }
    if (window.htmx) {
      window.htmx.process(banner);
    }
  }

  // refreshSummary re-fetches the dashboard's counts and recent activity
  // after live events, at most once per burst of events.
  var refreshTimer = null;
  function refreshSummary() {
    var summary = document.getElementById("dashboard-summary");
    if (!summary || !window.htmx) {
      return;
    }
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      var url = summary.getAttribute("data-refresh");
      window.htmx.ajax("GET", url, {target: "#dashboard-summary", swap: "outerHTML"});
    }, 250);
  }

  function showReferralUpdate(data) {
    if (!data || location.pathname !== "/referrals/" + data.id || document.getElementById("referral-changed")) {
      return;
    }
    var banners = document.getElementById("banners");
    if (!banners) {
      return;
    }
    var note = element("p", "notice", "This referral was updated. ");
    note.id = "referral-changed";
    note.setAttribute("role", "status");
    var reload = element("a", "", "Reload to see the change");
    reload.href = location.pathname + location.search;
    note.appendChild(reload);
    banners.appendChild(note);
  }

  function connect() {
    var body = document.body;
    var url = body.getAttribute("data-live");
    if (!url || !window.EventSource) {
      return;
    }
    var csrf = body.getAttribute("data-csrf") || "";
    var source = new EventSource(url);
    source.addEventListener("notification", function (ev) {
      showNotification(JSON.parse(ev.data), csrf);
      refreshSummary();
    });
    source.addEventListener("referral_updated", function (ev) {
      showReferralUpdate(JSON.parse(ev.data));
      refreshSummary();
    });
    body.setAttribute("data-live-state", "connecting");
    source.addEventListener("open", function () {
      body.setAttribute("data-live-state", "open");
    });
  }

  function fillTimezone() {
    var zone = "";
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      zone = "";
    }
    document.querySelectorAll("input[data-timezone]").forEach(function (input) {
      if (!input.value) {
        input.value = zone;
      }
    });
  }

  // confirmDialog returns the shared modal that asks before a destructive
  // form is sent, creating it on first use.
  function confirmDialog() {
    var dialog = document.getElementById("confirm-dialog");
    if (dialog) {
      return dialog;
    }
    dialog = element("dialog", "confirm-dialog");
    dialog.id = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-text");
    var text = element("p");
    text.id = "confirm-text";
    dialog.appendChild(text);
    var row = element("div", "row");
    var yes = element("button", "danger", "Confirm");
    yes.type = "button";
    yes.id = "confirm-yes";
    var no = element("button", "secondary", "Cancel");
    no.type = "button";
    no.id = "confirm-no";
    no.addEventListener("click", function () {
      dialog.close();
    });
    row.appendChild(yes);
    row.appendChild(no);
    dialog.appendChild(row);
    document.body.appendChild(dialog);
    return dialog;
  }

  // A form or submit button with data-confirm asks in a modal dialog first.
  // Confirming adds confirmed=1 and submits again, so the server skips its
  // own confirmation page; htmx forms then go out through htmx as usual.
  function guardDestructiveForms() {
    document.addEventListener("submit", function (ev) {
      var form = ev.target;
      var submitter = ev.submitter || null;
      var source = submitter && submitter.hasAttribute("data-confirm") ? submitter : form;
      var question = source.getAttribute("data-confirm");
      if (!question || form.querySelector('input[name="confirmed"]')) {
        return;
      }
      ev.preventDefault();
      ev.stopPropagation();
      var dialog = confirmDialog();
      document.getElementById("confirm-text").textContent = question;
      var yes = document.getElementById("confirm-yes");
      yes.textContent = source.getAttribute("data-confirm-button") || (submitter && submitter.textContent) || "Confirm";
      yes.onclick = function () {
        dialog.close();
        var flag = element("input");
        flag.type = "hidden";
        flag.name = "confirmed";
        flag.value = "1";
        form.appendChild(flag);
        if (submitter) {
          form.requestSubmit(submitter);
        } else {
          form.requestSubmit();
        }
      };
      dialog.showModal();
      document.getElementById("confirm-no").focus();
    }, true);
  }

  // openLinkDialog turns the server-rendered link dialog into a modal, so
  // Escape closes it and Tab stays inside while it is open.
  function openLinkDialog() {
    var dialog = document.querySelector("dialog[data-modal][open]");
    if (!dialog || !dialog.showModal) {
      return;
    }
    dialog.close();
    dialog.showModal();
    dialog.addEventListener("close", function () {
      var opener = document.getElementById("link-open");
      if (opener) {
        opener.focus();
      }
    });
  }

  // focusErrorSummary moves focus to a form's error summary after a rejected submit.
  function focusErrorSummary() {
    var summary = document.getElementById("error-summary");
    if (summary) {
      summary.focus();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    fillTimezone();
    guardDestructiveForms();
    openLinkDialog();
    focusErrorSummary();
    connect();
  });
})();
