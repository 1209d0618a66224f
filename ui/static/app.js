// ReferralPulse page script: live banners from the event stream and the
// browser's time zone for the assistant. Every page works without it.
(function () {
  "use strict";

  function notificationURL(n) {
    if (!n.referral_id) {
      return "";
    }
    var url = "/referrals/" + encodeURIComponent(n.referral_id);
    if (n.kind === "link_suggested" && n.entity && n.entity.entity_id) {
      url += "?suggested=" + encodeURIComponent(n.entity.entity_id) + "#link-dialog";
    }
    return url;
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
    var url = notificationURL(n);
    if (url) {
      var open = element("a", "button", "Open");
      open.href = url;
      actions.appendChild(open);
    }
    var action = "/notifications/" + encodeURIComponent(n.id) + "/read";
    var form = element("form");
    form.method = "post";
    form.action = action;
    form.setAttribute("hx-post", action);
    form.setAttribute("hx-target", "#" + banner.id);
    form.setAttribute("hx-swap", "outerHTML");
    var token = element("input");
    token.type = "hidden";
    token.name = "_csrf";
    token.value = csrf;
    form.appendChild(token);
    var back = element("input");
    back.type = "hidden";
    back.name = "back";
    back.value = location.pathname;
    form.appendChild(back);
    var button = element("button", "secondary", "Mark read");
    button.type = "submit";
    form.appendChild(button);
    actions.appendChild(form);
    banner.appendChild(actions);
    return banner;
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
    var empty = document.getElementById("notifications-empty");
    if (empty) {
      empty.hidden = true;
    }
    if (window.htmx) {
      window.htmx.process(banner);
    }
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
    });
    source.addEventListener("referral_updated", function (ev) {
      showReferralUpdate(JSON.parse(ev.data));
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

  document.addEventListener("DOMContentLoaded", function () {
    fillTimezone();
    connect();
  });
})();
