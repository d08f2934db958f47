// Passkey ceremonies for the pages that carry [data-passkey] buttons (no inline script: CSP).
// The server keeps the challenge; this file only carries options and answers across.
(function () {
  "use strict";

  function b64urlToBuffer(value) {
    var padded = value.replace(/-/g, "+").replace(/_/g, "/");
    while (padded.length % 4) padded += "=";
    var bytes = atob(padded);
    var buffer = new Uint8Array(bytes.length);
    for (var i = 0; i < bytes.length; i++) buffer[i] = bytes.charCodeAt(i);
    return buffer.buffer;
  }

  function bufferToB64url(buffer) {
    var bytes = new Uint8Array(buffer), text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // Older browsers lack PublicKeyCredential.parse*OptionsFromJSON and toJSON(): a small fallback.
  function creationOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    json.challenge = b64urlToBuffer(json.challenge);
    json.user.id = b64urlToBuffer(json.user.id);
    (json.excludeCredentials || []).forEach(function (c) { c.id = b64urlToBuffer(c.id); });
    return json;
  }

  function requestOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    json.challenge = b64urlToBuffer(json.challenge);
    (json.allowCredentials || []).forEach(function (c) { c.id = b64urlToBuffer(c.id); });
    return json;
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") return credential.toJSON();
    var r = credential.response, out = {
      id: credential.id, rawId: bufferToB64url(credential.rawId), type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(), response: {
        clientDataJSON: bufferToB64url(r.clientDataJSON)
      }
    };
    if (r.attestationObject) {
      out.response.attestationObject = bufferToB64url(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = bufferToB64url(r.authenticatorData);
      out.response.signature = bufferToB64url(r.signature);
      if (r.userHandle) out.response.userHandle = bufferToB64url(r.userHandle);
    }
    return out;
  }

  function post(url, token, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token},
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data.message || "");
        return data;
      });
    });
  }

  function start(button) {
    var box = button.closest("[data-passkey-box]");
    var status = box.querySelector("[data-passkey-status]");
    var token = box.querySelector("input[name=csrf_token]").value;
    var nameInput = box.querySelector("input[name=passkey_name]");
    var register = button.dataset.passkey === "register";
    status.textContent = button.dataset.working;
    button.disabled = true;
    post(button.dataset.optionsUrl, token).then(function (options) {
      return register
        ? navigator.credentials.create({publicKey: creationOptions(options)})
        : navigator.credentials.get({publicKey: requestOptions(options)});
    }).then(function (credential) {
      return post(button.dataset.finishUrl, token, {
        credential: credentialJSON(credential), name: nameInput ? nameInput.value : ""
      });
    }).then(function (result) {
      window.location.assign(result.redirect);
    }).catch(function (error) {
      status.textContent = (error && error.message && error.name === "Error") ? error.message : button.dataset.failed;
      status.classList.add("flash", "flash-error");
      button.disabled = false;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var supported = !!(window.PublicKeyCredential && navigator.credentials);
    document.querySelectorAll("[data-passkey]").forEach(function (button) {
      if (!supported) {
        button.disabled = true;
        button.closest("[data-passkey-box]").querySelector("[data-passkey-status]").textContent = button.dataset.unsupported;
        return;
      }
      button.hidden = false;
      button.addEventListener("click", function () { start(button); });
    });
  });
})();
